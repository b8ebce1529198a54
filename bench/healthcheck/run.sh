#!/usr/bin/env bash
# Health-check harness: jcm's HealthChecker (with each HTTP prober: the
# built-in one and libcurl) against HAProxy 2.6 checking the same N HTTP
# nodes, in the same run.
#
#   bench/healthcheck/run.sh              N = 10000 and 18000
#   bench/healthcheck/run.sh 5000 18000   any N list
#
# For each N: one nginx (Debian's, 1 worker, `return 200`, high
# keepalive_requests) listens on a free high port on the wildcard address, so
# it answers on every 127.x.y.z and stands in for N distinct nodes. Then
#   1. jcm-bench-healthcheck drives a HealthChecker over the N nodes
#      (100 per cluster, 1 s interval) for SECONDS after WARMUP, and measures
#      its own CPU with getrusage;
#   2. HAProxy checks the same N nodes (option httpchk, inter 1s,
#      spread-checks 50) for the same time; its CPU comes from
#      /proc/<pid>/stat (utime + stime).
# Checks per second are counted at the target too (nginx stub_status), for
# both. Everything listens on loopback or the wildcard of this host only and
# is stopped by PID when the script exits.
#
# Each N is measured RUNS times (native, curl, HAProxy in turn each time);
# the table gives medians, each row with the 1-minute load average seen when
# its measurements started (other work on the machine skews everything).
#
# Environment: SECONDS_RUN (20), WARMUP (3), RUNS (3), PROBERS ("native curl"),
# BUILD_DIR (build-hc, Release; the bench target is built if out of date).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-hc}
SECONDS_RUN=${SECONDS_RUN:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-3}
read -r -a PROBERS <<<"${PROBERS:-native curl}"
NS=("$@")
[ ${#NS[@]} -eq 0 ] && NS=(10000 18000)

BENCH=$BUILD_DIR/bin/jcm-bench-healthcheck
[ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j2 --target jcm-bench-healthcheck >/dev/null
command -v nginx >/dev/null || { echo "nginx not installed (apt-get install nginx-light)"; exit 1; }
command -v haproxy >/dev/null || { echo "haproxy not installed (apt-get install haproxy)"; exit 1; }

WORK=$(mktemp -d /tmp/jcm-hc-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'
}
# The i-th node address, as jcm-bench-healthcheck numbers them.
node_ip() {
  local i=$1 c=$(($1 / 254))
  echo "127.$((1 + c / 256)).$((c % 256)).$((i % 254 + 1))"
}
nginx_requests() {
  curl -s "http://127.0.0.1:$STATUS_PORT/s" | awk 'NR==3 {print $3}'
}
proc_cpu() {  # utime + stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

start_nginx() {
  PORT=$(free_port)
  STATUS_PORT=$(free_port)
  mkdir -p "$WORK/nginx/tmp"
  cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 19800; use epoll; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  server { listen $PORT backlog=8192; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$STATUS_PORT; location /s { stub_status; } }
}
CONF
  nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" \
    -g 'daemon off; master_process on;' &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$STATUS_PORT/s" && return 0
    sleep 0.1
  done
  echo "nginx did not start"; cat "$WORK/nginx/error.log"; exit 1
}
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

load1() { cut -d' ' -f1 /proc/loadavg; }

run_jcm() {
  local n=$1 prober=$2 r0 r1 json
  r0=$(nginx_requests)
  json=$("$BENCH" --nodes "$n" --port "$PORT" --seconds "$SECONDS_RUN" --warmup "$WARMUP" \
    --prober "$prober")
  r1=$(nginx_requests)
  echo "$json" >&2
  JCM_LINE=$(python3 - "$json" "$r0" "$r1" "$SECONDS_RUN" "$WARMUP" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
print(f"{j['checksPerSec']:.0f} {j['roundsOnTimePct']:.2f} {j['cpuPer10k']:.3f} "
      f"{j['cpuUser']:.2f} {j['cpuSys']:.2f} {j['normalAtEnd']} {j['rounds']} {j['lateRounds']} "
      f"{j['timeouts']} {j['failures']}")
PY
)
}

run_haproxy() {
  local n=$1 cfg="$WORK/haproxy-$n.cfg" i
  {
    echo "global"
    echo "  pidfile $WORK/haproxy.pid"
    echo "  spread-checks 50"
    [ "$n" -ge 5000 ] && echo "  no strict-limits"
    echo "defaults"
    echo "  mode http"
    echo "  timeout connect 800ms"
    echo "  timeout client 5s"
    echo "  timeout server 5s"
    echo "  timeout check 800ms"
    # HAProxy refuses to start without a listener: bind one on loopback.
    echo "listen nodes"
    echo "  bind 127.0.0.1:$(free_port)"
    echo "  option httpchk GET /health"
    echo "  default-server check inter 1s fall 2 rise 1"
    for ((i = 0; i < n; i++)); do echo "  server s$i $(node_ip "$i"):$PORT"; done
  } >"$cfg"
  haproxy -db -f "$cfg" >"$WORK/haproxy-$n.log" 2>&1 &
  local hp=$!
  PIDS+=("$hp")
  sleep 0.5
  kill -0 "$hp" 2>/dev/null || { echo "haproxy exited:"; cat "$WORK/haproxy-$n.log"; exit 1; }
  # HAProxy parses N servers before it checks; wait until checks flow.
  local before after
  before=$(nginx_requests)
  for _ in $(seq 100); do
    sleep 0.2
    after=$(nginx_requests)
    [ $((after - before)) -gt $((n / 20)) ] && break
  done
  sleep "$WARMUP"
  local c0 c1 r0 r1 t0 t1
  c0=$(proc_cpu "$hp"); r0=$(nginx_requests); t0=$(date +%s.%N)
  sleep "$SECONDS_RUN"
  c1=$(proc_cpu "$hp"); r1=$(nginx_requests); t1=$(date +%s.%N)
  stop_pid "$hp"
  HA_LINE=$(python3 -c "
c=$c1-$c0; r=$r1-$r0; t=$t1-$t0
print(f'{r/t:.0f} {c/r*10000 if r else 0:.3f} {c:.2f}')")
}

printf '%s\n' "# host: $(nproc) cores, $(uname -r), fd limit $(ulimit -Hn); SECONDS_RUN=$SECONDS_RUN WARMUP=$WARMUP RUNS=$RUNS"
ROWS=$WORK/rows.tsv  # n checker run checks/s ontime% late rounds cpu10k user sys timeouts failures load1
: >"$ROWS"
for n in "${NS[@]}"; do
  for ((run = 1; run <= RUNS; run++)); do
    start_nginx
    for prober in "${PROBERS[@]}"; do
      l=$(load1)
      echo "== N=$n run $run: jcm/$prober (nginx :$PORT, load $l)" >&2
      run_jcm "$n" "$prober"
      read -r j_cps j_ontime j_cpu j_user j_sys j_normal j_rounds j_late j_to j_fail <<<"$JCM_LINE"
      echo "   normal at end $j_normal/$n, timeouts $j_to, failures $j_fail" >&2
      printf '%s\t' "$n" "jcm/$prober" "$run" "$j_cps" "$j_ontime" "$j_late" "$j_rounds" "$j_cpu" \
        "$j_user" "$j_sys" "$j_to" "$j_fail" >>"$ROWS"
      echo "$l" >>"$ROWS"
    done
    l=$(load1)
    echo "== N=$n run $run: HAProxy (load $l)" >&2
    run_haproxy "$n"
    read -r h_cps h_cpu h_total <<<"$HA_LINE"
    echo "   HAProxy: $h_cps checks/s, $h_cpu CPU-s/10k" >&2
    printf '%s\t' "$n" "haproxy" "$run" "$h_cps" "" "" "" "$h_cpu" "" "" "" "" >>"$ROWS"
    echo "$l" >>"$ROWS"
    stop_pid "$NGINX_PID"
  done
done
echo "# every run (checker, run, checks/s, on-time %, late, rounds, CPU-s/10k, user, sys, timeouts, failures, load1)"
cat "$ROWS"
# Medians per N and checker; the ratio divides each jcm median by HAProxy's.
python3 - "$ROWS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault((int(r[0]), r[1]), []).append(r)
med = lambda xs: statistics.median(float(x) for x in xs)
print("| N | checker | runs | checks/s | rounds on time | CPU-s/10k (user + sys per run) | timeouts/run | vs HAProxy CPU | load1 |")
print("|---|---|---|---|---|---|---|---|---|")
for n in sorted({k[0] for k in by}):
    ha = by.get((n, "haproxy"))
    ha_cpu = med(r[7] for r in ha) if ha else 0
    for (m, who), rs in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1] == "haproxy", kv[0][1])):
        if m != n:
            continue
        loads = ", ".join(r[12] for r in rs)
        cpu = med(r[7] for r in rs)
        if who == "haproxy":
            print(f"| {n} | HAProxy | {len(rs)} | {med(r[3] for r in rs):.0f} | - | {cpu:.3f} | - | 1 | {loads} |")
        else:
            ratio = f"{cpu / ha_cpu:.2f}" if ha_cpu else "n/a"
            print(f"| {n} | {who} | {len(rs)} | {med(r[3] for r in rs):.0f} | {med(r[4] for r in rs):.1f} % "
                  f"(late {med(r[5] for r in rs):.0f} of {med(r[6] for r in rs):.0f}) | {cpu:.3f} "
                  f"({med(r[8] for r in rs):.2f} u + {med(r[9] for r in rs):.2f} s) | "
                  f"{med(r[10] for r in rs):.0f} | {ratio} | {loads} |")
PY
