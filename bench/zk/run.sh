#!/usr/bin/env bash
# Registration benchmark: node registrations per second through a jcm-server
# FOLLOWER against raw asynchronous ZooKeeper setData throughput, measured on
# the same machine in the same run against the same ZooKeeper.
#
#   bench/zk/run.sh                 3 runs, medians printed at the end
#   RUNS=5 bench/zk/run.sh
#   BUILD_DIR=build-x bench/zk/run.sh   (default: build, Release)
#
# Knobs (environment): RAW_COUNT (200000), RAW_SECONDS (10), RAW_INFLIGHT
# (1000), REG_COUNT (4000), REG_SECONDS (20), REG_THREADS (8), REG_CLUSTERS
# (1), SESSION_MS (6000). Everything listens on 127.0.0.1 only and is
# stopped by PID when the script exits.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=../../scripts/lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

RUNS=${RUNS:-3}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RAW_COUNT=${RAW_COUNT:-200000}
RAW_SECONDS=${RAW_SECONDS:-10}
RAW_INFLIGHT=${RAW_INFLIGHT:-1000}
REG_COUNT=${REG_COUNT:-4000}
REG_SECONDS=${REG_SECONDS:-20}
REG_THREADS=${REG_THREADS:-8}
REG_CLUSTERS=${REG_CLUSTERS:-1}
SESSION_MS=${SESSION_MS:-6000}
# follower (the figure that matters: forwarded, waited for) or leader (to
# see what forwarding costs).
REG_VIA=${REG_VIA:-follower}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  targets=(jcm-bench-zk-raw jcm-bench-register)
  if cmake --build "$BUILD_DIR" --target help 2>/dev/null | grep -q ' jcm-server$'; then
    targets+=(jcm-server)
  fi
  cmake --build "$BUILD_DIR" -j2 --target "${targets[@]}" >&2
fi
BIN=$BUILD_DIR/bin
HAVE_SERVER=0
[ -x "$BIN/jcm-server" ] && HAVE_SERVER=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jcm-bench-zk.XXXXXX")
PIDFILES=()
cleanup() {
  local f
  for f in "${PIDFILES[@]}"; do jcm_stop_pidfile "$f" "${f##*.}" 5 || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

raw_figures=()
reg_figures=()
for run in $(seq 1 "$RUNS"); do
  dir=$WORK/run$run
  mkdir -p "$dir"
  zk_port=$(jcm_free_port)
  zk_pid=$dir/zk.pid.QuorumPeerMain
  PIDFILES+=("$zk_pid")
  jcm_zk_start "$dir/zk" "$zk_port" "$zk_pid"
  jcm_log "run $run: ZooKeeper on 127.0.0.1:$zk_port"

  raw=$("$BIN/jcm-bench-zk-raw" --zk "127.0.0.1:$zk_port" --count "$RAW_COUNT" \
    --seconds "$RAW_SECONDS" --inflight "$RAW_INFLIGHT" --value-bytes 1024 --znodes 64)
  echo "run $run: $raw"
  raw_figures+=("$(sed -n 's/.*ops_per_s=\([0-9]*\).*/\1/p' <<<"$raw")")

  if [ "$HAVE_SERVER" = 1 ]; then
    addrs=()
    for i in 1 2 3; do
      port=$(jcm_free_port)
      pf=$dir/server$i.pid.jcm-server
      PIDFILES+=("$pf")
      jcm_spawn "$pf" "$dir/server$i.log" "$BIN/jcm-server" --zk "127.0.0.1:$zk_port" \
        --zk-root /jcm --listen "127.0.0.1:$port" --advertise "127.0.0.1:$port" \
        --session-timeout-ms "$SESSION_MS" --log-level warn
      jcm_wait_http "http://127.0.0.1:$port/healthz" 30 "$pf" jcm-server || { jcm_log "server $i did not start"; cat "$dir/server$i.log" >&2; exit 1; }
      addrs+=("127.0.0.1:$port")
    done
    follower=""
    for t in $(seq 1 100); do
      for a in "${addrs[@]}"; do
        s=$(curl -s --max-time 1 "http://$a/sys/status" || true)
        want=false
        [ "$REG_VIA" = leader ] && want=true
        if grep -Eq "\"isLeader\" *: *$want" <<<"$s" && grep -Eq '"leader" *: *"[0-9]' <<<"$s"; then
          follower=$a
          break 2
        fi
      done
      sleep 0.1
    done
    [ -n "$follower" ] || { jcm_log "no $REG_VIA with a known leader"; exit 1; }
    reg=$("$BIN/jcm-bench-register" --target "$follower" --threads "$REG_THREADS" \
      --count "$REG_COUNT" --seconds "$REG_SECONDS" --clusters "$REG_CLUSTERS" \
      --prefix "bench-run$run") || { echo "run $run: $reg"; jcm_log "registration run failed"; exit 1; }
    echo "run $run: via $REG_VIA $follower: $reg"
    reg_figures+=("$(sed -n 's/.*ops_per_s=\([0-9]*\).*/\1/p' <<<"$reg")")
    for i in 1 2 3; do jcm_stop_pidfile "$dir/server$i.pid.jcm-server" jcm-server 10; done
  fi
  jcm_stop_pidfile "$zk_pid" QuorumPeerMain 10
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
raw_med=$(median "${raw_figures[@]}")
echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $RUNS runs"
echo "raw ZooKeeper async setData (1 KB, $RAW_INFLIGHT in flight): median ${raw_med}/s  (runs: ${raw_figures[*]})"
if [ "$HAVE_SERVER" = 1 ]; then
  reg_med=$(median "${reg_figures[@]}")
  echo "jcm registrations via $REG_VIA ($REG_THREADS threads, $REG_CLUSTERS cluster(s), 1 node/request): median ${reg_med}/s  (runs: ${reg_figures[*]})"
  awk -v r="$reg_med" -v z="$raw_med" 'BEGIN { printf "ratio registrations / raw setData: %.3f (1 : %.1f)\n", r / z, z / (r > 0 ? r : 1) }'
else
  echo "jcm-server not built: registration half skipped"
fi
