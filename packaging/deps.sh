#!/usr/bin/env bash
# Installs the Debian 12 packages that day2's build, tests, benchmarks and demo need.
# Fast when everything is there: it asks dpkg first and runs apt-get only for what is missing.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ ccache pkg-config
  libboost-dev libsystemd-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev libpcre2-dev libssl-dev openssl
  # tests
  libgtest-dev libgmock-dev systemd python3 curl iproute2
  # fuzzing (libFuzzer ships with clang's runtime)
  clang libclang-rt-14-dev
  # benchmarks: systemd-journal-gatewayd is the anchor for the logs API
  systemd-journal-remote
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "deps: not root and no sudo: install these yourself: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
