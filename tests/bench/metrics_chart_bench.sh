#!/usr/bin/env bash
# The console's metrics charts (tests/bench/metrics_chart_bench.cpp), offscreen: a redraw of
# 100 series × 3,600 points against QLineSeries filled point by point in the same run, and a live
# update of 50 lines.
#   tests/bench/metrics_chart_bench.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
bin=$build/tests/bench/day2-bench-metrics-chart
[ -x "$bin" ] || { echo "metrics chart bench: $bin is not built (make build)"; exit 1; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} QT_QPA_PLATFORM=offscreen
"$bin" 2> /dev/null
