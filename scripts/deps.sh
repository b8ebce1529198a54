#!/usr/bin/env bash
# Installs the Debian packages jcm needs to build, test and run, skipping
# what is already there. Safe to run again. Used by quickstart.sh and test.sh.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libzookeeper-mt-dev libcpp-httplib-dev nlohmann-json3-dev libcurl4-openssl-dev zlib1g-dev
  libspdlog-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev libxxhash-dev libssl-dev
  openssl  # the TLS tests make a throwaway CA with the openssl command
  clang-14 libclang-rt-14-dev
  lld  # scripts/test.sh links with it: ~100 test binaries, twice as fast as ld.bfd
  zookeeper default-jre-headless curl procps iproute2 ccache
  nginx-light haproxy
  chromium  # the dashboard's browser test and scripts/screenshots.sh (headless)
  prometheus  # promtool: tests/integration/metrics checks /metrics and docs/alerts.yml
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Debian's nginx, haproxy and prometheus packages try to start system services; we run
# our own instances, so keep the package scripts from starting theirs.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
