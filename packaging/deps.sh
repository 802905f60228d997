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
  # metrics: a real Prometheus scrapes the agent in a test, promtool checks /metrics;
  # librdkafka (its mock cluster is the Kafka broker of the tests)
  prometheus librdkafka-dev
  # benchmarks: systemd-journal-gatewayd is the anchor for the logs API
  systemd-journal-remote
  # Adminrouter (tests and the demo start their own nginx on loopback)
  nginx
  # exec: the Kubernetes Python client's WebSocket client, run unchanged against the agent
  python3-kubernetes
  # the client library, the console and their Qt Test tests; the console's keyring (and a real
  # Secret Service for its test, in a private D-Bus session); its screenshot test under a
  # virtual X server; Qt WebSockets for exec (the CLI's `task exec`, the console's terminal);
  # Qt Charts for the console's metrics pane (its CMake package needs Qt OpenGL's); libvterm for
  # its terminal pane
  qt6-base-dev qtkeychain-qt6-dev gnome-keyring dbus-daemon xvfb xauth qt6-websockets-dev
  qt6-charts-dev libqt6opengl6-dev libvterm-dev
  # the Debian packages (make package: CPack's DEB generator, dpkg-shlibdeps for Depends:) and
  # their check (lintian); the console's package depends on Qt's platform plugins
  dpkg-dev lintian qt6-qpa-plugins
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
# Installing nginx must not start the system's nginx on port 80: while installing, services are
# not started (policy-rc.d answers 101), unless the machine already has such a policy.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
status=0
$sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
  status=$?
[ $own_policy -eq 1 ] && $sudo rm -f "$policy"
[ $status -eq 0 ] || { echo "deps: apt-get failed ($status)" >&2; exit $status; }
echo "deps: done"
