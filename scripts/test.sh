#!/usr/bin/env bash
# The test command: installs what is missing, builds jcm twice (Release and
# ASan/UBSan), and runs the whole suite in each with ctest.
#
#   scripts/test.sh            everything
#   JCM_TEST_FAST=1 scripts/test.sh   Release build only
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$dir" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$jobs"
  # Integration tests start ZooKeeper and server processes of their own on
  # free loopback ports; run them one at a time so timing checks are fair.
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j1)
}

mkdir -p build-test
echo "== Release build and suite"
run_suite build-test/release -DCMAKE_BUILD_TYPE=Release

if [ "${JCM_TEST_FAST:-0}" != 1 ]; then
  echo "== ASan/UBSan build and suite"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-test/asan -DCMAKE_BUILD_TYPE=Debug -DJCM_SANITIZE=ON -DJCM_BUILD_BENCH=OFF
fi
echo "== all suites passed"
