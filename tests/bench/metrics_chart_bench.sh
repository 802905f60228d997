#!/usr/bin/env bash
# The console's metrics charts (tests/bench/metrics_chart_bench.cpp) in one run: Qt Charts'
# raster line series (the default) offscreen, then its OpenGL series (DAY2_CHARTS_OPENGL=1) under
# Xvfb (Mesa's software OpenGL here; a desktop's GPU draws faster).
#   tests/bench/metrics_chart_bench.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
bin=$build/tests/bench/day2-bench-metrics-chart
[ -x "$bin" ] || { echo "metrics chart bench: $bin is not built (make build)"; exit 1; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
echo "# raster (QLineSeries, QPainter), offscreen"
QT_QPA_PLATFORM=offscreen "$bin" 2> /dev/null
if command -v xvfb-run > /dev/null; then
    echo "# OpenGL series (DAY2_CHARTS_OPENGL=1), Xvfb"
    DAY2_CHARTS_OPENGL=1 xvfb-run -a -s '-screen 0 1600x1000x24' "$bin" 2> /dev/null
else
    echo "# OpenGL series: skipped (no xvfb-run)"
fi
