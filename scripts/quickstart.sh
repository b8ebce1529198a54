#!/usr/bin/env bash
# Quick start: everything jcm needs, on this machine's loopback only.
#
#   scripts/quickstart.sh          install what is missing, build (Release,
#                                  build/), start ZooKeeper, three jcm-server
#                                  instances and nginx test targets in the
#                                  background, register two sample clusters
#   scripts/quickstart.sh --ensemble
#                                  the same on a three-member ZooKeeper
#                                  ensemble (loopback), as production runs:
#                                  the jcm-servers get all three members
#   scripts/quickstart.sh stop     stop exactly what it started (by PID)
#   scripts/quickstart.sh status   show what runs
#
# State lives under var/: var/zk (ZooKeeper data), var/log, var/run/*.pid,
# var/nginx, var/tokens (the API's write token, made on the first start:
# writes need "Authorization: Bearer <token>"; reads and /sub stay open). Running it again while things run is harmless: running
# processes are left alone, missing ones are started, samples re-registered.
# Ports: ZooKeeper 127.0.0.1:${JCM_ZK_PORT:-2181} (--ensemble: members on
# client ports 2181-2183, peer ports 2888-2890, election ports 3888-3890,
# data in var/zk-ensemble/member1-3), jcm-server
# 127.0.0.1:8601-8603, targets 127.0.0.11-14:9981 (HTTP) and :9982 (TCP).
# JCM_TARGET_PREFIX=127.0.1.1 moves the targets (and the sample nodes) to
# 127.0.1.11-15 when something else holds 127.0.0.11-15.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

VAR=$ROOT/var
RUN=$VAR/run
LOG=$VAR/log
BUILD=${JCM_BUILD_DIR:-$ROOT/build}
ZK_PORT=${JCM_ZK_PORT:-2181}
SERVER_PORTS=(8601 8602 8603)
SESSION_MS=${JCM_SESSION_TIMEOUT_MS:-6000}
# Sample node i (1-5) lives on ${TARGET_PREFIX}i.
TARGET_PREFIX=${JCM_TARGET_PREFIX:-127.0.0.1}
T1=${TARGET_PREFIX}1 T2=${TARGET_PREFIX}2 T3=${TARGET_PREFIX}3 T4=${TARGET_PREFIX}4

ZK_PEER_PORT=${JCM_ZK_PEER_PORT:-2888}
ZK_ELECTION_PORT=${JCM_ZK_ELECTION_PORT:-3888}

stop_all() {
  local i
  # Servers first (each deregisters at once on SIGTERM), then what they use.
  for i in 1 2 3; do jcm_stop_pidfile "$RUN/jcm-server-$i.pid" jcm-server 10; done
  jcm_stop_pidfile "$RUN/nginx.pid" nginx 5
  jcm_stop_pidfile "$RUN/zookeeper.pid" QuorumPeerMain 10
  for i in 1 2 3; do jcm_stop_pidfile "$RUN/zookeeper-$i.pid" QuorumPeerMain 10; done
  echo "quickstart: stopped (data kept in var/zk and var/zk-ensemble; remove var/ to start afresh)"
}

show_status() {
  local name word zk_seen=0
  for name in zookeeper:QuorumPeerMain zookeeper-1:QuorumPeerMain zookeeper-2:QuorumPeerMain \
    zookeeper-3:QuorumPeerMain nginx:nginx jcm-server-1:jcm-server \
    jcm-server-2:jcm-server jcm-server-3:jcm-server; do
    word=${name#*:}
    name=${name%%:*}
    if jcm_pid_alive "$RUN/$name.pid" "$word"; then
      echo "$name: running, pid $(cat "$RUN/$name.pid")"
      [ "${name#zookeeper}" != "$name" ] && zk_seen=1
    elif [ "${name#zookeeper}" != "$name" ]; then
      # Only the layout in use (single or ensemble) is worth a line.
      [ -f "$RUN/$name.pid" ] && echo "$name: not running"
      [ "$name" = zookeeper-3 ] && [ "$zk_seen" = 0 ] && ! [ -f "$RUN/$name.pid" ] &&
        echo "zookeeper: not running"
    else
      echo "$name: not running"
    fi
  done
}

ENSEMBLE=0
case "${1:-start}" in
  stop) stop_all; exit 0 ;;
  status) show_status; exit 0 ;;
  start) ;;
  --ensemble) ENSEMBLE=1 ;;
  *) echo "usage: $0 [start|--ensemble|stop|status]" >&2; exit 2 ;;
esac

# One ZooKeeper layout at a time: the jcm-servers of the other would keep
# their connect string.
if [ "$ENSEMBLE" = 1 ] && jcm_pid_alive "$RUN/zookeeper.pid" QuorumPeerMain; then
  echo "quickstart: a single ZooKeeper runs; run '$0 stop' before '$0 --ensemble'" >&2
  exit 1
fi
if [ "$ENSEMBLE" = 0 ] && jcm_pid_alive "$RUN/zookeeper-1.pid" QuorumPeerMain; then
  echo "quickstart: the ZooKeeper ensemble runs; use '$0 --ensemble', or '$0 stop' first" >&2
  exit 1
fi
if [ "$ENSEMBLE" = 1 ]; then
  ZK_CONNECT="127.0.0.1:$ZK_PORT,127.0.0.1:$((ZK_PORT + 1)),127.0.0.1:$((ZK_PORT + 2))"
else
  ZK_CONNECT="127.0.0.1:$ZK_PORT"
fi

mkdir -p "$RUN" "$LOG" "$VAR/zk" "$VAR/nginx"

echo "quickstart: checking packages (scripts/deps.sh)"
"$ROOT/scripts/deps.sh"

echo "quickstart: building jcm-server (Release, $BUILD)"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$LOG/cmake-configure.log" 2>&1 ||
    { cat "$LOG/cmake-configure.log"; exit 1; }
fi
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target jcm-server jcmctl

# --- the API's write token (kept across restarts; remove var/tokens for a new one)
TOKENS=$VAR/tokens
if [ ! -s "$TOKENS" ]; then
  (umask 077 && printf 'write %s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$TOKENS")
fi
TOKEN=$(awk '$1 == "write" { print $2; exit }' "$TOKENS")

# --- ZooKeeper
if [ "$ENSEMBLE" = 1 ]; then
  for i in 1 2 3; do
    jcm_pid_alive "$RUN/zookeeper-$i.pid" QuorumPeerMain && continue
    for port in $((ZK_PORT + i - 1)) $((ZK_PEER_PORT + i - 1)) $((ZK_ELECTION_PORT + i - 1)); do
      if ! jcm_port_free "$port"; then
        echo "quickstart: 127.0.0.1:$port (ensemble member $i) is taken by another process;" \
          "set JCM_ZK_PORT, JCM_ZK_PEER_PORT, JCM_ZK_ELECTION_PORT" >&2
        exit 1
      fi
    done
  done
  if jcm_pid_alive "$RUN/zookeeper-1.pid" QuorumPeerMain &&
    jcm_pid_alive "$RUN/zookeeper-2.pid" QuorumPeerMain &&
    jcm_pid_alive "$RUN/zookeeper-3.pid" QuorumPeerMain; then
    echo "quickstart: ZooKeeper ensemble already running on $ZK_CONNECT"
  else
    echo "quickstart: starting a three-member ZooKeeper ensemble on $ZK_CONNECT (data in var/zk-ensemble)"
  fi
  jcm_zk_ensemble_start "$VAR/zk-ensemble" "$ZK_PORT" "$ZK_PEER_PORT" "$ZK_ELECTION_PORT" "$RUN"
elif jcm_pid_alive "$RUN/zookeeper.pid" QuorumPeerMain; then
  echo "quickstart: ZooKeeper already running (pid $(cat "$RUN/zookeeper.pid"))"
else
  if ! jcm_port_free "$ZK_PORT"; then
    echo "quickstart: 127.0.0.1:$ZK_PORT is taken by another process; set JCM_ZK_PORT" >&2
    exit 1
  fi
  echo "quickstart: starting ZooKeeper on 127.0.0.1:$ZK_PORT (data in var/zk)"
  jcm_zk_start "$VAR/zk" "$ZK_PORT" "$RUN/zookeeper.pid"
fi

# --- Test targets: one nginx answers for every sample node. 127.0.0.14
# answers 503 on /health so a node shows up ABNORMAL; 127.0.0.15 has no
# listener at all.
if jcm_pid_alive "$RUN/nginx.pid" nginx; then
  echo "quickstart: nginx targets already running (pid $(cat "$RUN/nginx.pid"))"
else
  N=$VAR/nginx
  mkdir -p "$N/tmp"
  {
    echo "worker_processes 1;"
    echo "error_log $LOG/nginx-error.log warn;"
    echo "pid $N/nginx.pid;"
    echo "daemon off;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    echo "  client_body_temp_path $N/tmp/body;"
    echo "  proxy_temp_path $N/tmp/proxy;"
    echo "  fastcgi_temp_path $N/tmp/fastcgi;"
    echo "  uwsgi_temp_path $N/tmp/uwsgi;"
    echo "  scgi_temp_path $N/tmp/scgi;"
    echo "  keepalive_requests 100000;"
    for ip in $T1 $T2 $T3; do
      echo "  server { listen $ip:9981; location /health { return 200 \"ok $ip\\n\"; } location / { return 200 \"node $ip\\n\"; } }"
      echo "  server { listen $ip:9982; location / { return 200 \"tcp $ip\\n\"; } }"
    done
    echo "  server { listen $T4:9981; location /health { return 503 \"unhealthy\\n\"; } }"
    echo "}"
  } >"$N/nginx.conf"
  for ip in $T1 $T2 $T3 $T4; do
    if ss -Hltn "src $ip" 2>/dev/null | grep -Eq ":998[12] "; then
      echo "quickstart: $ip:9981/9982 is held by another process:" >&2
      ss -Hltnp "src $ip" >&2 || true
      echo "quickstart: stop it, or run with JCM_TARGET_PREFIX=127.0.1.1" >&2
      exit 1
    fi
  done
  echo "quickstart: starting nginx targets on $T1-4:9981, $T1-3:9982"
  : >"$LOG/nginx-error.log"
  jcm_spawn "$RUN/nginx.pid" "$LOG/nginx.log" /usr/sbin/nginx -p "$N" -e "$LOG/nginx-error.log" -c "$N/nginx.conf"
fi
# nginx retries a failed bind for a few seconds before it gives up, so
# "still running" proves nothing: wait until every target answers as ours.
for t in $(seq 1 50); do
  ok=1
  for ip in $T1 $T2 $T3; do
    [ "$(curl -s --max-time 1 "http://$ip:9981/health")" = "ok $ip" ] || ok=0
  done
  [ "$ok" = 1 ] && break
  jcm_pid_alive "$RUN/nginx.pid" nginx || break
  sleep 0.1
done
if [ "$ok" != 1 ]; then
  echo "quickstart: nginx targets do not answer; nginx log:" >&2
  tail -5 "$LOG/nginx-error.log" >&2 2>/dev/null || true
  jcm_stop_pidfile "$RUN/nginx.pid" nginx 5
  exit 1
fi

# --- jcm-server instances
for i in 1 2 3; do
  port=${SERVER_PORTS[$((i - 1))]}
  if jcm_pid_alive "$RUN/jcm-server-$i.pid" jcm-server; then
    echo "quickstart: jcm-server $i already running on 127.0.0.1:$port"
    continue
  fi
  if ! jcm_port_free "$port"; then
    echo "quickstart: 127.0.0.1:$port is taken by another process" >&2
    exit 1
  fi
  echo "quickstart: starting jcm-server $i on 127.0.0.1:$port"
  jcm_spawn "$RUN/jcm-server-$i.pid" "$LOG/jcm-server-$i.log" "$BUILD/bin/jcm-server" \
    --zk "$ZK_CONNECT" --zk-root /jcm --listen "127.0.0.1:$port" \
    --advertise "127.0.0.1:$port" --session-timeout-ms "$SESSION_MS" --tokens-file "$TOKENS"
done
for i in 1 2 3; do
  port=${SERVER_PORTS[$((i - 1))]}
  jcm_wait_http "http://127.0.0.1:$port/healthz" 30 "$RUN/jcm-server-$i.pid" jcm-server ||
    { echo "jcm-server $i did not answer /healthz; its log:" >&2; tail -30 "$LOG/jcm-server-$i.log" >&2; exit 1; }
done

# A write needs a leader; the first seconds after a start may have none.
register() {
  local file=$1 code t doc
  # The sample files name 127.0.0.11-15; move them with the targets.
  doc=$(sed "s/\"127\.0\.0\.1\([1-5]\)\"/\"${TARGET_PREFIX}\1\"/g" "$file")
  for t in $(seq 1 50); do
    code=$(curl -s -o "$LOG/register.out" -w '%{http_code}' --max-time 5 \
      -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
      --data-binary "$doc" http://127.0.0.1:8602/c || true)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  echo "quickstart: registering $file failed ($code): $(cat "$LOG/register.out")" >&2
  return 1
}
echo "quickstart: registering sample clusters through 127.0.0.1:8602"
register "$ROOT/scripts/sample-cluster.json"
register "$ROOT/scripts/sample-cluster-tcp.json"

cat <<MSG

jcm is running (stop it with: scripts/quickstart.sh stop)
  ZooKeeper    $ZK_CONNECT        data and log in var/$([ "$ENSEMBLE" = 1 ] && echo zk-ensemble || echo zk)
  jcm-server   127.0.0.1:8601 127.0.0.1:8602 127.0.0.1:8603   logs var/log/
  targets      nginx on ${T1}-4:9981 (HTTP /health; ${T4} answers 503), ${T1}-3:9982 (TCP)
  PIDs         var/run/*.pid

  write token  $TOKEN   (in var/tokens; writes need it, reads and /sub do not)

Try:
  export JCM_TOKEN=$TOKEN
  curl -s 127.0.0.1:8601/sys/status
  curl -s 127.0.0.1:8601/c/list
  curl -s 127.0.0.1:8603/c/sudoku_solver
  curl -s -H "Authorization: Bearer \$JCM_TOKEN" -X POST 127.0.0.1:8602/c/node/sudoku_solver -d '[{"ip":"$T3","protos":[{"port":9982,"proto":"HTTP"}],"online":"ONLINE"}]'
  curl -s -H "Authorization: Bearer \$JCM_TOKEN" -X POST 127.0.0.1:8601/c/node/online/sudoku_solver -d '{"spec":"$T3|HTTP:9981","online":true}'
  curl -s -H "Authorization: Bearer \$JCM_TOKEN" -X DELETE 127.0.0.1:8603/c/node/sudoku_solver -d '["$T3|HTTP:9982"]'
  curl -s -X POST 127.0.0.1:8601/sub -d '{"tag":"curl","units":[{"name":"sudoku_solver","version":0}]}'

Dashboard:  http://127.0.0.1:8601/ui/
jcmctl:     JCM_SERVER=127.0.0.1:8601,127.0.0.1:8602,127.0.0.1:8603 JCM_TOKEN=$TOKEN $BUILD/bin/jcmctl ls
MSG
