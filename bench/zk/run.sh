#!/usr/bin/env bash
# Write-path benchmark (issue 10): registrations through a jcm-server
# FOLLOWER at steady state, against raw asynchronous ZooKeeper setData on
# the same ZooKeeper in the same run.
#
#   bench/zk/run.sh                      one run, sizes 100 2000 20000
#   SIZES="100 2000" REG_SECONDS=5 bench/zk/run.sh
#   BUILD_DIR=build-x bench/zk/run.sh    (default: build, Release)
#
# Per run: raw zoo_aset (1 KB values over 64 znodes) at 64 and at 1,000 in
# flight; then three jcm-servers and, for each cluster size N in SIZES, a
# cluster pre-filled with N nodes (checkType NONE) under 64 keep-alive
# clients through a follower (half add one node per request, half remove
# one, so N stays put): registrations/s, batches/s and mutations per batch
# (leader's /sys/status), CPU per mutation summed over the three jcm-servers
# and ZooKeeper, visibility on all three instances (p50/p99), and every
# acknowledged registration present afterwards.
#
# Knobs (environment): RUNS (1), RAW_SECONDS (5), REG_THREADS (64),
# REG_SECONDS (10), REG_WARMUP (3), PROBE_MS (200), PROBE_DELTA (1: the probe
# asks for RESP_DELTA replies, as libjcm-subscriber does; 0: whole clusters),
# SIZES ("100 2000 20000"),
# SESSION_MS (6000), REG_VIA (follower|leader), HTTP_THREADS (32). Everything listens on
# 127.0.0.1 only and is stopped by PID when the script exits.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=../../scripts/lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

RUNS=${RUNS:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RAW_COUNT=${RAW_COUNT:-400000}
RAW_SECONDS=${RAW_SECONDS:-5}
REG_THREADS=${REG_THREADS:-64}
REG_SECONDS=${REG_SECONDS:-10}
REG_WARMUP=${REG_WARMUP:-3}
PROBE_MS=${PROBE_MS:-200}
PROBE_DELTA=${PROBE_DELTA:-1}
SIZES=${SIZES:-100 2000 20000}
SESSION_MS=${SESSION_MS:-6000}
REG_VIA=${REG_VIA:-follower}
# --http-threads of each jcm-server (the product's default is 32): a
# follower holds one worker per write through forward and wait, which caps
# the writes one follower has in flight, hence the leader's batch size.
HTTP_THREADS=${HTTP_THREADS:-32}

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

pid_of() { cat "$1" 2>/dev/null || true; }
echo "== $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg); threads=$REG_THREADS http_threads=$HTTP_THREADS sizes=$SIZES seconds=$REG_SECONDS probe_delta=$PROBE_DELTA"
for run in $(seq 1 "$RUNS"); do
  dir=$WORK/run$run
  mkdir -p "$dir"
  zk_port=$(jcm_free_port)
  zk_pid=$dir/zk.pid.QuorumPeerMain
  PIDFILES+=("$zk_pid")
  jcm_zk_start "$dir/zk" "$zk_port" "$zk_pid"
  jcm_log "run $run: ZooKeeper on 127.0.0.1:$zk_port"

  for inflight in 64 1000; do
    raw=$("$BIN/jcm-bench-zk-raw" --zk "127.0.0.1:$zk_port" --count "$RAW_COUNT" \
      --seconds "$RAW_SECONDS" --inflight "$inflight" --value-bytes 1024 --znodes 64 \
      --root "/bench-raw-$inflight")
    echo "run $run: raw inflight=$inflight: $raw"
  done

  [ "$HAVE_SERVER" = 1 ] || { echo "jcm-server not built: registration half skipped"; continue; }
  addrs=()
  pids=("$(pid_of "$zk_pid")")
  for i in 1 2 3; do
    port=$(jcm_free_port)
    pf=$dir/server$i.pid.jcm-server
    PIDFILES+=("$pf")
    jcm_spawn "$pf" "$dir/server$i.log" "$BIN/jcm-server" --zk "127.0.0.1:$zk_port" \
      --zk-root /jcm --listen "127.0.0.1:$port" --advertise "127.0.0.1:$port" \
      --session-timeout-ms "$SESSION_MS" --log-level warn --http-threads "$HTTP_THREADS"
    jcm_wait_http "http://127.0.0.1:$port/healthz" 30 "$pf" jcm-server || { jcm_log "server $i did not start"; cat "$dir/server$i.log" >&2; exit 1; }
    addrs+=("127.0.0.1:$port")
    pids+=("$(pid_of "$pf")")
  done
  target=""
  for t in $(seq 1 100); do
    for a in "${addrs[@]}"; do
      s=$(curl -s --max-time 1 "http://$a/sys/status" || true)
      want=false
      [ "$REG_VIA" = leader ] && want=true
      if grep -Eq "\"isLeader\" *: *$want" <<<"$s" && grep -Eq '"leader" *: *"[0-9]' <<<"$s"; then
        target=$a
        break 2
      fi
    done
    sleep 0.1
  done
  [ -n "$target" ] || { jcm_log "no $REG_VIA with a known leader"; exit 1; }
  all=$(IFS=,; echo "${addrs[*]}")
  pidlist=$(IFS=,; echo "${pids[*]}")
  # Who is who, for cpu_ms_per_mutation_by_pid (ZooKeeper, then the servers
  # in this order).
  roles=""
  for a in "${addrs[@]}"; do
    if [ "$a" = "$target" ]; then
      roles+=" $a=target"
    elif grep -Eq '"isLeader" *: *true' <<<"$(curl -s --max-time 1 "http://$a/sys/status" || true)"; then
      roles+=" $a=leader"
    else
      roles+=" $a=follower"
    fi
  done
  echo "run $run: pids (ZooKeeper first) $pidlist, servers in order:$roles"
  for n in $SIZES; do
    reg=$("$BIN/jcm-bench-register" --target "$target" --all "$all" --threads "$REG_THREADS" \
      --nodes "$n" --seconds "$REG_SECONDS" --warmup "$REG_WARMUP" --probe-ms "$PROBE_MS" \
      --delta "$PROBE_DELTA" --pids "$pidlist" --prefix "bench-$run-$n") || { echo "run $run: $reg"; jcm_log "registration run failed"; exit 1; }
    echo "run $run: via $REG_VIA $target: $reg"
  done
  for a in "${addrs[@]}"; do
    echo "run $run: $a reloads: $(curl -s --max-time 2 "http://$a/sys/status" | grep -o '"\(reloads\|forwardedAcks\)":{[^}]*}\|"subDelta[A-Za-z]*":[0-9]*\|"forwardsMerged[A-Za-z]*":[0-9]*\|"forwardMergeFallbacks":[0-9]*' | tr '\n' ' ')"
  done
  for i in 1 2 3; do jcm_stop_pidfile "$dir/server$i.pid.jcm-server" jcm-server 10; done
  jcm_stop_pidfile "$zk_pid" QuorumPeerMain 10
done
echo "== done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
