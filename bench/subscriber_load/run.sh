#!/usr/bin/env bash
# Subscriber-facing server benchmarks (issue 4), one command:
#
#   bench/subscriber_load/run.sh
#
#   (a) jcm-bench-sub-load: one jcm-server instance serving M simulated
#       subscribers (M in $MS, default "1000 10000"), each polling /sub once a
#       second (extended form, $CLUSTERS clusters of $NODES nodes), RUNS runs
#       per M; latency p50/p99 from the scheduled poll time, server CPU from
#       /proc/<pid>/stat.
#   (b) jcm-bench-sub-stop: time from a target stopping to the first
#       subscriber no longer picking it, $TRIALS trials, plain polling and
#       long poll, with 3 instances.
#
# Each program starts its own ZooKeeper and jcm-server(s) on free loopback
# ports (tests/support) and stops them by PID when it ends; targets listen on
# 127.0.51.x, simulated subscribers connect from 127.100.x.y. Nothing leaves
# loopback.
#
# Environment: BUILD_DIR (build-si, Release), MS ("1000 10000"), RUNS (3),
# SECONDS_RUN (20), WARMUP (5), CLUSTERS (4), NODES (20), TRIALS (25),
# STOP_SUBS (5 per mode), INTERVAL_MS (1000), FALL (2), FASTINTER_MS (0: the
# server's default, interval / 4; >= INTERVAL_MS turns fast re-checks off), POLL_MS (1000),
# SKIP_BUILD=1, SKIP_LOAD=1, SKIP_STOP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-si}
MS=${MS:-"1000 10000"}
RUNS=${RUNS:-3}
SECONDS_RUN=${SECONDS_RUN:-20}
WARMUP=${WARMUP:-5}
CLUSTERS=${CLUSTERS:-4}
NODES=${NODES:-20}
TRIALS=${TRIALS:-25}
STOP_SUBS=${STOP_SUBS:-5}
INTERVAL_MS=${INTERVAL_MS:-1000}
FALL=${FALL:-2}
FASTINTER_MS=${FASTINTER_MS:-0}
POLL_MS=${POLL_MS:-1000}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target jcm-server jcm-bench-sub-load jcm-bench-sub-stop >&2
fi
export JCM_BIN_DIR=$BUILD_DIR/bin
BIN=$BUILD_DIR/bin

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2"; }

echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${SKIP_LOAD:-0}" != 1 ]; then
  for m in $MS; do
    p50s=() p99s=() cpus=() fails=() loads=()
    for run in $(seq 1 "$RUNS"); do
      line=$("$BIN/jcm-bench-sub-load" --subscribers "$m" --seconds "$SECONDS_RUN" --warmup "$WARMUP" \
        --clusters "$CLUSTERS" --nodes "$NODES" 2>/dev/null)
      echo "M=$m run $run: $line"
      p50s+=("$(field p50_ms "$line")")
      p99s+=("$(field p99_ms "$line")")
      cpus+=("$(field server_cpu_cores "$line")")
      fails+=("$(field failures "$line")")
      loads+=("$(field loadavg1 "$line")")
    done
    echo "M=$m medians over $RUNS runs: p50 $(median "${p50s[@]}") ms, p99 $(median "${p99s[@]}") ms, server CPU $(median "${cpus[@]}") cores, failures $(median "${fails[@]}"), load avg $(median "${loads[@]}")"
  done
fi
if [ "${SKIP_STOP:-0}" != 1 ]; then
  "$BIN/jcm-bench-sub-stop" --trials "$TRIALS" --subscribers "$STOP_SUBS" --interval-ms "$INTERVAL_MS" \
    --fall "$FALL" --fastinter-ms "$FASTINTER_MS" --poll-ms "$POLL_MS" 2> >(grep -v '^trial' >&2) || echo "(some trials failed)"
fi
