#!/usr/bin/env bash
# Screenshots of the web dashboard (/ui/) for docs/img/, taken in headless
# Chromium against a small real deployment this script starts and stops:
# a ZooKeeper, three jcm-server instances and nginx targets, on free
# loopback ports (nothing fixed, so it runs next to a quick start), with a
# few clusters in every state (healthy, degraded, panic, unchecked, offline).
#
#   scripts/screenshots.sh            build jcm-server if needed, write
#                                     docs/img/dashboard-{clusters,cluster,deployment}.png
#   JCM_SCREENSHOTS_HOLD=1 scripts/screenshots.sh
#                                     then keep the deployment up until Enter
#                                     or Ctrl-C (to look at it in a browser)
#
# Everything started is stopped by PID on exit, also on error or Ctrl-C; the
# state lives in a temporary directory that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

BUILD=${JCM_BUILD_DIR:-$ROOT/build}
OUT=$ROOT/docs/img
CHROMIUM=${CHROMIUM:-chromium}
command -v "$CHROMIUM" >/dev/null ||
  { echo "screenshots: $CHROMIUM not found (apt-get install chromium)" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
  { echo "screenshots: nginx not found (scripts/deps.sh installs it)" >&2; exit 1; }

if [ ! -x "$BUILD/bin/jcm-server" ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJCM_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target jcm-server
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/jcm-screenshots.XXXXXX")
RUN=$DIR/run
mkdir -p "$RUN" "$DIR/nginx/tmp" "$OUT"
cleanup() {
  local i
  for i in 1 2 3; do jcm_stop_pidfile "$RUN/jcm-server-$i.pid" jcm-server 10; done
  jcm_stop_pidfile "$RUN/nginx.pid" nginx 5
  jcm_stop_pidfile "$RUN/zookeeper.pid" QuorumPeerMain 10
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- ports and addresses: node i of the samples is 127.0.2.i.
# Six distinct free ports: nothing listens on them yet, so a second pick
# could return one already chosen. pick runs in a subshell ($(...)); the
# caller records each port in PICKED.
PICKED=" "
pick() {
  local p
  for _ in $(seq 1 50); do
    p=$(jcm_free_port)
    case "$PICKED" in *" $p "*) continue ;; esac
    echo "$p"
    return 0
  done
  return 1
}
ZK_PORT=$(pick); PICKED="$PICKED$ZK_PORT "
HTTP_PORT=$(pick); PICKED="$PICKED$HTTP_PORT "
TCP_PORT=$(pick); PICKED="$PICKED$TCP_PORT "
PORTS=()
for i in 1 2 3; do
  p=$(pick)
  PICKED="$PICKED$p "
  PORTS+=("$p")
done
NET=127.0.2
UP_IPS="11 12 13 14 15 16 17 18 21 22 23 24 25 31 32 33 34 35 36"
SICK_IPS="19 26"  # answer 503 on /health: ABNORMAL
# 41, 42 and 27 have no listener at all: their checks fail.

jcm_log "ZooKeeper on 127.0.0.1:$ZK_PORT"
jcm_zk_start "$DIR/zk" "$ZK_PORT" "$RUN/zookeeper.pid"

jcm_log "nginx targets on $NET.x:$HTTP_PORT (HTTP) and :$TCP_PORT (TCP)"
{
  echo "worker_processes 1; pid $DIR/nginx/nginx.pid; daemon off;"
  echo "error_log $DIR/nginx/error.log warn;"
  echo "events { worker_connections 256; }"
  echo "http { access_log off;"
  for d in client_body proxy fastcgi uwsgi scgi; do echo "  ${d}_temp_path $DIR/nginx/tmp/$d;"; done
  for i in $UP_IPS; do
    echo "  server { listen $NET.$i:$HTTP_PORT; location / { return 200 \"ok\\n\"; } }"
    echo "  server { listen $NET.$i:$TCP_PORT; location / { return 200 \"ok\\n\"; } }"
  done
  for i in $SICK_IPS; do
    echo "  server { listen $NET.$i:$HTTP_PORT; location / { return 503 \"sick\\n\"; } }"
  done
  echo "}"
} >"$DIR/nginx/nginx.conf"
jcm_spawn "$RUN/nginx.pid" "$DIR/nginx/out.log" /usr/sbin/nginx -p "$DIR/nginx" \
  -e "$DIR/nginx/error.log" -c "$DIR/nginx/nginx.conf"

for i in 1 2 3; do
  port=${PORTS[$((i - 1))]}
  jcm_spawn "$RUN/jcm-server-$i.pid" "$DIR/jcm-server-$i.log" "$BUILD/bin/jcm-server" \
    --zk "127.0.0.1:$ZK_PORT" --zk-root /jcm --listen "127.0.0.1:$port" \
    --advertise "127.0.0.1:$port" --session-timeout-ms 4000 --health-interval-ms 500
done
for i in 1 2 3; do
  port=${PORTS[$((i - 1))]}
  jcm_wait_http "http://127.0.0.1:$port/healthz" 30 "$RUN/jcm-server-$i.pid" jcm-server ||
    { echo "screenshots: jcm-server $i did not start:" >&2; tail -20 "$DIR/jcm-server-$i.log" >&2; exit 1; }
done
API=127.0.0.1:${PORTS[0]}

# node IP [WEIGHT [ONLINE [UDATA [PROTOS]]]]: a node document.
node() {
  local ip=$NET.$1 weight=${2:-100} online=${3:-ONLINE} udata=${4:-} protos=${5:-}
  [ -n "$protos" ] || protos="{\"port\":$HTTP_PORT,\"proto\":\"HTTP\"}"
  printf '{"ip":"%s","protos":[%s],"online":"%s","weight":%s,"udata":"%s"}' \
    "$ip" "$protos" "$online" "$weight" "$udata"
}
both="{\"port\":$HTTP_PORT,\"proto\":\"HTTP\"},{\"port\":$TCP_PORT,\"proto\":\"TCP\"}"
tcp="{\"port\":$TCP_PORT,\"proto\":\"TCP\"}"
# cluster NAME CHECKTYPE CHECKFILE ONLINE NODE...: registers it (retries
# while no leader is elected yet).
cluster() {
  local name=$1 type=$2 file=$3 online=$4 t code
  shift 4
  local nodes
  nodes=$(IFS=,; echo "$*")
  local doc="{\"name\":\"$name\",\"online\":\"$online\",\"checkType\":\"$type\",\"checkFile\":\"$file\",\"nodes\":[$nodes]}"
  for t in $(seq 1 100); do
    code=$(curl -s -o "$DIR/put.out" -w '%{http_code}' --max-time 5 --data-binary "$doc" "http://$API/c" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  echo "screenshots: registering $name failed ($code): $(cat "$DIR/put.out")" >&2
  exit 1
}
jcm_log "registering sample clusters through $API"
cluster sudoku_solver HTTP /health ONLINE "$(node 11 100 ONLINE '' "$both")" \
  "$(node 12 100 ONLINE rack=b "$both")" "$(node 13 100 OFFLINE 'drained for kernel update')" \
  "$(node 19 100 ONLINE 'answers 503: checked ABNORMAL')"
cluster chess_engine TCP "" ONLINE "$(node 11 100 ONLINE '' "$tcp")" "$(node 12 100 ONLINE '' "$tcp")" \
  "$(node 27 100 ONLINE 'nothing listens: checked down' "$tcp")"
cluster search-tier HTTP /health ONLINE "$(node 21 200 ONLINE zone=a)" "$(node 22 200 ONLINE zone=a)" \
  "$(node 23 100 ONLINE zone=b)" "$(node 24 100 ONLINE zone=b)" "$(node 25 50 ONLINE 'zone=c canary')"
cluster payments-api HTTP /health ONLINE "$(node 14)" "$(node 15)" "$(node 16)" "$(node 26 100 ONLINE 'answers 503')"
cluster legacy-billing HTTP /health ONLINE "$(node 41 100 ONLINE 'host retired?')" "$(node 42)"
cluster session-store TCP "" ONLINE "$(node 31 100 ONLINE '' "$tcp")" "$(node 32 100 ONLINE '' "$tcp")" \
  "$(node 33 100 ONLINE '' "$tcp")" "$(node 34 100 ONLINE '' "$tcp")" "$(node 35 100 ONLINE '' "$tcp")" \
  "$(node 36 100 ONLINE '' "$tcp")"
cluster image-resizer NONE "" ONLINE "$(node 17)" "$(node 18)"
cluster geo-lookup HTTP /health OFFLINE "$(node 17)" "$(node 18)"

# Wait (bounded) until the checks have settled: 20 nodes up (NONE-checked
# nodes count as up) and 5 down (19 and 26 answer 503; 27, 41 and 42 have
# no listener), so the
# screenshots show checked health, not the first second.
jcm_log "waiting for the health checks to settle"
count() { { grep -o "\"status\":\"$1\"" <<<"$2" || true; } | wc -l; }
for t in $(seq 1 150); do
  all=$(curl -s --max-time 2 "http://$API/c" || true)
  up=$(count NORMAL "$all")
  down=$(($(count ABNORMAL "$all") + $(count TIMEOUT "$all")))
  [ "$up" = 20 ] && [ "$down" = 5 ] && break
  sleep 0.2
done
[ "$up" = 20 ] && [ "$down" = 5 ] || jcm_log "checks not settled ($up up, $down down); shooting anyway"

shoot() {
  local route=$1 file=$2
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
    --force-color-profile=srgb \
    --user-data-dir="$DIR/chromium" --window-size=1280,800 --virtual-time-budget=4000 \
    --screenshot="$OUT/$file" "http://$API/ui/#$route" >"$DIR/chromium.log" 2>&1 ||
    { echo "screenshots: chromium failed for $route:" >&2; tail -20 "$DIR/chromium.log" >&2; exit 1; }
  jcm_log "wrote docs/img/$file"
}
shoot /clusters dashboard-clusters.png
shoot /c/sudoku_solver dashboard-cluster.png
shoot /deployment dashboard-deployment.png

if [ "${JCM_SCREENSHOTS_HOLD:-0}" = 1 ]; then
  echo "dashboard: http://$API/ui/ (also :${PORTS[1]} and :${PORTS[2]}); press Enter to stop"
  read -r _
fi
