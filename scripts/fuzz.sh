#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, with clang, ASan and UBSan) and
# runs each for SECONDS (default 5) from its seed corpus, one after another.
#
#   scripts/fuzz.sh           a few seconds each (what scripts/test.sh runs)
#   scripts/fuzz.sh 600       ten minutes each
#   scripts/fuzz.sh 60 sub_reply cluster_json    only these targets
#
# New inputs found go to build-fuzz/corpus/<target> (the seeds under
# tests/fuzz/corpus are only read); a crash leaves its input in
# build-fuzz/artifacts/ and fails the script: turn it into a regression unit
# test. Prints, per target, how long it ran clean and how many runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SECONDS_EACH=${1:-5}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(cluster_json sub_reply stored_cluster cluster_buckets status_codec http_response)
fi

CXX=${JCM_FUZZ_CXX:-clang++-14}
CC=${JCM_FUZZ_CC:-clang-14}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found (scripts/deps.sh installs clang-14 and libclang-rt-14-dev)" >&2
  exit 1
fi

BUILD=${JCM_FUZZ_BUILD:-build-fuzz}
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
fi
mkdir -p "$BUILD"
cmake -S tests/fuzz -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_C_COMPILER="$CC" "${launcher[@]}" \
  >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log"; exit 1; }
targets=()
for t in "${TARGETS[@]}"; do targets+=("fuzz_$t"); done
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}" \
  >"$BUILD/build.log" 2>&1 || { tail -50 "$BUILD/build.log"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/artifacts"
status=0
for t in "${TARGETS[@]}"; do
  work="$BUILD/corpus/$t"
  mkdir -p "$work"
  log="$BUILD/fuzz_$t.log"
  # -rss_limit_mb: a decoder that inflates or allocates without bound is a
  # finding too. -max_len: above the largest seed, room for big documents.
  if "$BUILD/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=65536 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $t ran clean for ${SECONDS_EACH}s ($runs runs)"
  else
    status=1
    tail -40 "$log"
    echo "fuzz: $t FAILED (input in $BUILD/artifacts/, log $log)"
  fi
done
exit "$status"
