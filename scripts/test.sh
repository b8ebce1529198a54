#!/usr/bin/env bash
# The test command: installs what is missing, builds jcm twice (Release and
# ASan/UBSan), and runs the whole suite in each with ctest.
#
#   scripts/test.sh                   everything
#   JCM_TEST_FAST=1 scripts/test.sh   Release build and suite only
#
# On two cores the two builds dominate the run, so the sanitizer build is
# compiled (at low CPU priority) while the Release integration tests run:
# those mostly wait on ZooKeeper and server processes. ccache is used when
# present (scripts/deps.sh installs it), which makes repeated runs fast.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # Hash paths relative to the checkout, so a fresh clone elsewhere (CI)
  # reuses what an earlier run compiled.
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
fi

RELEASE=build-test/release
ASAN=build-test/asan
mkdir -p build-test

configure() {
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$dir" "${launcher[@]}" "$@" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"
    return 1
  }
}

run_ctest() {
  local dir=$1
  shift
  # Integration tests start ZooKeeper and server processes of their own on
  # free loopback ports; run tests one at a time so timing bounds are fair.
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j1 "$@")
}

echo "== Release build"
configure "$RELEASE" -DCMAKE_BUILD_TYPE=Release
cmake --build "$RELEASE" -j"$jobs"

asan_pid=""
if [ "${JCM_TEST_FAST:-0}" != 1 ]; then
  configure "$ASAN" -DCMAKE_BUILD_TYPE=Debug -DJCM_SANITIZE=ON -DJCM_BUILD_BENCH=OFF \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1"
  echo "== ASan/UBSan build started in the background (log: $ASAN.build.log)"
  nice -n 19 cmake --build "$ASAN" -j"$jobs" >"$ASAN.build.log" 2>&1 &
  asan_pid=$!
fi

status=0
echo "== Release suite"
run_ctest "$RELEASE" || status=1

echo "== Fuzz targets (a few seconds each; scripts/fuzz.sh SECONDS for longer)"
JCM_FUZZ_BUILD=build-test/fuzz scripts/fuzz.sh 3 || status=1

if [ -n "$asan_pid" ]; then
  if ! wait "$asan_pid"; then
    tail -50 "$ASAN.build.log"
    echo "== ASan/UBSan build FAILED"
    exit 1
  fi
  echo "== ASan/UBSan suite"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_ctest "$ASAN" || status=1
fi

if [ "$status" = 0 ]; then
  echo "== all suites passed"
else
  echo "== FAILED: see the test output above"
fi
exit "$status"
