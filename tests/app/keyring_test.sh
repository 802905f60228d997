#!/usr/bin/env bash
# The console's token in a real desktop keyring: gnome-keyring's Secret Service in a private
# D-Bus session (its own HOME, unlocked with a throwaway password), then token_store_test, whose
# keyring case runs only here. Exit 77 (skipped) when gnome-keyring or dbus-run-session is not
# installed (packaging/deps.sh installs both).
#   keyring_test.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" > /dev/null || { echo "keyring test: $tool is not installed"; exit 77; }
done
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home XDG_DATA_HOME=$home/data XDG_CONFIG_HOME=$home/config XDG_RUNTIME_DIR=$home
chmod 700 "$home"
# dbus-run-session ends the bus and what it started (the keyring daemon) when the test ends.
exec dbus-run-session -- sh -c '
    printf day2-test | gnome-keyring-daemon --unlock --components=secrets > /dev/null
    DAY2_TEST_KEYRING=1 exec "$0" withAKeyringTheTokenGoesThereAndNoFileIsWritten
' "$build/tests/app/token_store_test" 2> >(grep -v "Failed to set fd limit" >&2)
