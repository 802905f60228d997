#!/usr/bin/env bash
# The console's metrics charts (tests/bench/metrics_chart_bench.cpp), offscreen: a redraw of
# 100 series × 3,600 points against QLineSeries filled point by point in the same run, and a live
# update of 50 lines (in one chart, then in each of four).
#   tests/bench/metrics_chart_bench.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
bin=$build/tests/bench/day2-bench-metrics-chart
[ -x "$bin" ] || { echo "metrics chart bench: $bin is not built (make build)"; exit 1; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} QT_QPA_PLATFORM=offscreen
# Each in a process of its own: after the anchor's 360,000 points the heap is not what a console's is.
"$bin" redraw 2> /dev/null
"$bin" live 2> /dev/null
"$bin" live4 2> /dev/null
