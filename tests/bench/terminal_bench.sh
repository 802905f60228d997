#!/usr/bin/env bash
# The console's terminal widget (tests/bench/terminal_bench.cpp), offscreen: 100 MB of coloured
# listing lines parsed and painted, against libvterm alone and a QPlainTextEdit in the same run,
# and the keypress-to-paint latency.
#   tests/bench/terminal_bench.sh BUILD_DIR [throughput|keypress]
set -euo pipefail
build=$(realpath "$1")
bin=$build/tests/bench/day2-bench-terminal
[ -x "$bin" ] || { echo "terminal bench: $bin is not built (make build)"; exit 1; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} QT_QPA_PLATFORM=offscreen
"$bin" "${2:-all}" 2> /dev/null
