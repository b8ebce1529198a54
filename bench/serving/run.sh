#!/usr/bin/env bash
# The serving layer under subscriber load (issue 7), one command:
#
#   bench/serving/run.sh
#
# Per run (RUNS times), each program on free loopback ports:
#   (a) jcm      M subscribers plain-polling /sub at 1/s over keep-alive
#   (b) nginx    the same load against nginx 1.22 (1 worker) answering a
#                static reply of the same size: the practical ceiling here
#   (e) jcm      (a) with a different /sub body per subscriber (its own
#                tag), so the server's reply cache cannot answer: the cost
#                of parsing and evaluating every poll
#   (c) jcm      (a) while IDLE more connections are held open and idle
#   (f) nginx    (b) while IDLE more connections are held open and idle: how
#                much of (c)'s difference is the client's and the kernel's
#   (d) jcm      M subscribers long-polling; CHANGES times one node is added
#                and every subscriber's time to its RESP_UPDATE is recorded
# then medians over the runs. jcm-bench-serve starts its own ZooKeeper and
# jcm-server (tests/support) and stops them by PID; nginx is started here
# and stopped by PID. Subscribers connect from 127.100.x.y, idle ones from
# 127.101.x.y. Nothing leaves loopback.
#
# Environment: BUILD_DIR (build-si, Release), M (10000), IDLE (5000), RUNS
# (3), SECONDS_RUN (20), WARMUP (5), CHANGES (5), SKIP_BUILD=1, SCENARIOS
# (the letters to run, default "a b e c f d"), IDLE_PROCESS (1: (c) and (f)
# hold the idle connections in a second client process, so the measuring
# loop does not carry them; 0: in the measuring loop itself).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-si}
M=${M:-10000}
IDLE=${IDLE:-5000}
RUNS=${RUNS:-3}
SECONDS_RUN=${SECONDS_RUN:-20}
WARMUP=${WARMUP:-5}
CHANGES=${CHANGES:-5}
SCENARIOS=${SCENARIOS:-a b e c f d}
IDLE_PROCESS=${IDLE_PROCESS:-1}
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target jcm-server jcm-bench-serve >&2
fi
export JCM_BIN_DIR=$BUILD_DIR/bin
BENCH=$BUILD_DIR/bin/jcm-bench-serve
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/jcm-bench-serve.XXXXXX)
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2"; }

# nginx answering every request with `bytes` bytes, 1 worker, keep-alive
# without a request cap. Sets nginx_pid (master) and nginx_port.
start_nginx() {
  local bytes=$1
  nginx_port=$(free_port)
  local body
  body=$(head -c "$bytes" /dev/zero | tr '\0' 'x')
  mkdir -p "$WORK/nginx/logs"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 19000; multi_accept on; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location / { return 200 '$body'; }
  }
}
EOF
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
  nginx_pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && return 0
    sleep 0.1
  done
  echo "nginx did not start" >&2
  return 1
}
stop_nginx() {
  kill "$nginx_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
  nginx_pid=""
}

echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), M=$M IDLE=$IDLE IDLE_PROCESS=$IDLE_PROCESS, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A col
add() { col[$1]="${col[$1]:-} $2"; }
for run in $(seq 1 "$RUNS"); do
  a="" b="" c="" d="" e="" f=""
  if want a; then
    a=$("$BENCH" --mode poll --subscribers "$M" --seconds "$SECONDS_RUN" --warmup "$WARMUP" 2>/dev/null)
    echo "run $run (a) jcm poll:        $a"
  fi
  if want b; then
    bytes=$(field reply_bytes "$a")
    start_nginx "${bytes:-175}"
    workers=$(pgrep -P "$nginx_pid" | paste -sd, -)
    b=$("$BENCH" --mode poll --subscribers "$M" --seconds "$SECONDS_RUN" --warmup "$WARMUP" \
      --peer "127.0.0.1:$nginx_port" --peer-pids "$nginx_pid,$workers" 2>/dev/null)
    stop_nginx
    echo "run $run (b) nginx poll:      $b"
  fi
  if want e; then
    e=$("$BENCH" --mode poll --subscribers "$M" --seconds "$SECONDS_RUN" --warmup "$WARMUP" \
      --distinct-tags 1 2>/dev/null)
    echo "run $run (e) jcm poll, uncached: $e"
  fi
  if want c; then
    c=$("$BENCH" --mode poll --subscribers "$M" --idle "$IDLE" --idle-process "$IDLE_PROCESS" --max-connections $((M + IDLE + 500)) \
      --seconds "$SECONDS_RUN" --warmup "$WARMUP" 2>/dev/null)
    echo "run $run (c) jcm poll + idle: $c"
  fi
  if want f; then
    bytes=$(field reply_bytes "$a")
    start_nginx "${bytes:-175}"
    workers=$(pgrep -P "$nginx_pid" | paste -sd, -)
    f=$("$BENCH" --mode poll --subscribers "$M" --idle "$IDLE" --idle-process "$IDLE_PROCESS" --seconds "$SECONDS_RUN" --warmup "$WARMUP" \
      --peer "127.0.0.1:$nginx_port" --peer-pids "$nginx_pid,$workers" 2>/dev/null)
    stop_nginx
    echo "run $run (f) nginx poll + idle: $f"
  fi
  if want d; then
    d=$("$BENCH" --mode longpoll --subscribers "$M" --changes "$CHANGES" --warmup "$WARMUP" 2>/dev/null)
    echo "run $run (d) jcm long poll:   $d"
  fi
  for k in p50_ms p99_ms server_cpu_cores server_cpu_us_per_reply failures reconnects listen_overflows idle_closed client_cpu_cores loadavg1; do
    add "a_$k" "$(field "$k" "$a")"
    add "b_$k" "$(field "$k" "$b")"
    add "c_$k" "$(field "$k" "$c")"
    add "e_$k" "$(field "$k" "$e")"
    add "f_$k" "$(field "$k" "$f")"
  done
  for k in parked_min last_answer_p50_ms last_answer_max_ms p50_ms p99_ms max_ms rss_mb server_cpu_cores failures loadavg1; do
    add "d_$k" "$(field "$k" "$d")"
  done
done
med() { median ${col[$1]}; }
echo "== medians over $RUNS runs"
echo "(a) jcm poll $M/s keep-alive:   p50 $(med a_p50_ms) ms, p99 $(med a_p99_ms) ms, CPU $(med a_server_cpu_cores) cores, $(med a_server_cpu_us_per_reply) us/reply, failures $(med a_failures), reconnects $(med a_reconnects), listen overflows $(med a_listen_overflows), client CPU $(med a_client_cpu_cores), load $(med a_loadavg1)"
echo "(b) nginx poll $M/s keep-alive: p50 $(med b_p50_ms) ms, p99 $(med b_p99_ms) ms, CPU $(med b_server_cpu_cores) cores, $(med b_server_cpu_us_per_reply) us/reply, failures $(med b_failures), load $(med b_loadavg1)"
echo "(e) jcm poll, uncached:      p50 $(med e_p50_ms) ms, p99 $(med e_p99_ms) ms, CPU $(med e_server_cpu_cores) cores, $(med e_server_cpu_us_per_reply) us/reply, failures $(med e_failures), load $(med e_loadavg1)"
echo "(c) jcm poll + $IDLE idle:      p50 $(med c_p50_ms) ms, p99 $(med c_p99_ms) ms, CPU $(med c_server_cpu_cores) cores, failures $(med c_failures), idle closed by the server $(med c_idle_closed), listen overflows $(med c_listen_overflows), client CPU $(med c_client_cpu_cores), load $(med c_loadavg1)"
echo "(f) nginx poll + $IDLE idle:    p50 $(med f_p50_ms) ms, p99 $(med f_p99_ms) ms, CPU $(med f_server_cpu_cores) cores, failures $(med f_failures), idle closed by the server $(med f_idle_closed), client CPU $(med f_client_cpu_cores), load $(med f_loadavg1)"
echo "(d) jcm $M long polls:          parked (min) $(med d_parked_min), last answer p50 $(med d_last_answer_p50_ms) ms / max $(med d_last_answer_max_ms) ms, per-subscriber p50 $(med d_p50_ms) ms p99 $(med d_p99_ms) ms max $(med d_max_ms) ms, RSS $(med d_rss_mb) MB, CPU $(med d_server_cpu_cores) cores, failures $(med d_failures), load $(med d_loadavg1)"
awk -v j="$(med a_server_cpu_us_per_reply)" -v n="$(med b_server_cpu_us_per_reply)" \
  'BEGIN { if (n > 0 && j > 0) printf "CPU per reply, jcm / nginx: %.2f\n", j / n }'
awk -v j="$(med e_server_cpu_us_per_reply)" -v n="$(med b_server_cpu_us_per_reply)" \
  'BEGIN { if (n > 0 && j > 0) printf "CPU per reply, jcm uncached / nginx: %.2f\n", j / n }'
