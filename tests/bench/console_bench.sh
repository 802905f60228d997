#!/usr/bin/env bash
# The console's log pane against QPlainTextEdit (tests/bench/console_bench.cpp), offscreen, in
# one run: the rates (each rate, both widgets in turn), then memory and filter with 1,000,000
# retained lines, each widget in a process of its own; as root, end to end from a local agent
# (replayed as fast as it goes; replayed at paced rates; and live, paced by a journald writer).
#   tests/bench/console_bench.sh BUILD_DIR [RETAIN]
set -euo pipefail
build=$(realpath "$1")
retain=${2:-1000000}
bin=$build/tests/bench/day2-bench-console
[ -x "$bin" ] || { echo "console bench: $bin is not built (make build)"; exit 1; }
export QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
echo "# rates: lines handed over every 50 ms (LogPane::kFlushMs) for 3 s; stalls of the GUI thread in ms"
"$bin" rates 2> /dev/null
echo "# memory and filter, $retain lines retained"
"$bin" memory pane "$retain" 2> /dev/null
"$bin" memory plaintextedit "$retain" 2> /dev/null
if [ "$(id -u)" -eq 0 ]; then
    echo "# end to end: a local agent replays 200,000 entries of a private journald into each widget"
    "$bin" agent 200000 2> /dev/null
    echo "# end to end, paced: each widget follows a local agent through a journal filled first, read at RATE lines/s for 5 s"
    "$bin" replay 10000 25000 50000 60000 2> /dev/null
    echo "# end to end, live: a writer sends RATE lines/s to journald for 5 s while each widget follows the agent"
    "$bin" live 10000 25000 50000 2> /dev/null
else
    echo "# end to end: skipped (a private journald needs root)"
fi
