#!/usr/bin/env bash
# The CPU cost of fast re-checks (issue 12 item 1) at N nodes: one nginx
# answers every node; FLAPPING of them point at a second server that answers
# 503 to a share of checks (split_clients on the request id), so they keep
# changing state and get extra checks at fastinter. jcm-bench-healthcheck is
# run with the extra checks on (cap 1000/s, the default) and off (cap 0),
# RUNS times each, alternating; it prints checks/s, fastChecks and its own
# CPU. Everything listens on this host's loopback/wildcard only and is
# stopped by PID on exit.
#
#   bench/healthcheck/extra_checks.sh            N=18000 FLAPPING=1000
# Environment: N, FLAPPING, FAIL_PCT (30), SECONDS_RUN (20), WARMUP (3),
# RUNS (2), BUILD_DIR (build-hc).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-hc}
N=${N:-18000}
FLAPPING=${FLAPPING:-1000}
FAIL_PCT=${FAIL_PCT:-30}
SECONDS_RUN=${SECONDS_RUN:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-2}
BENCH=$BUILD_DIR/bin/jcm-bench-healthcheck
[ -x "$BENCH" ] || { echo "build jcm-bench-healthcheck in $BUILD_DIR first"; exit 1; }

WORK=$(mktemp -d /tmp/jcm-xc-bench.XXXXXX)
NGINX_PID=
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
FLAP_PORT=$(free_port)
mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 19800; use epoll; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  split_clients "\${request_id}" \$flap { ${FAIL_PCT}% fail; * ok; }
  server { listen $PORT backlog=8192; location / { return 200 "ok\n"; } }
  server { listen $FLAP_PORT backlog=8192;
           location / { if (\$flap = fail) { return 503; } return 200 "ok\n"; } }
}
CONF
nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf" -g 'daemon off; master_process on;' &
NGINX_PID=$!
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.1
done
echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), N=$N flapping=$FLAPPING fail=${FAIL_PCT}%"
for run in $(seq 1 "$RUNS"); do
  for cap in 1000 0; do
    line=$("$BENCH" --nodes "$N" --port "$PORT" --flapping "$FLAPPING" --flap-port "$FLAP_PORT" \
      --fastinter-max-per-sec "$cap" --seconds "$SECONDS_RUN" --warmup "$WARMUP")
    echo "run=$run cap=$cap load1=$(cut -d' ' -f1 /proc/loadavg) $line"
  done
done
