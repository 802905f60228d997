#!/usr/bin/env bash
# The StatsD ingest benchmark: day2's StatsD listener (the agent's ingest path for a task, alone:
# day2-bench-statsd-receiver) against Etsy statsd 0.9.0 (node), fed the same lines by the same
# sender (day2-bench-statsd-blast: `bench.m<k>:1|c|#env:bench` over 300 metric names, sendmmsg),
# one line a datagram and 20 lines a datagram, interleaved, ROUNDS times; the median counts.
# Each receiver runs on one CPU (day2's pins itself, node is run under taskset), the sender on
# another. Each measurement starts a fresh receiver.
#
#   tests/bench/statsd_bench.sh [BUILD_DIR]     (default: build; build the tools first with
#                                                `ninja -C BUILD_DIR day2-bench-statsd`)
#
# Two measurements per receiver and size, each round:
# - full speed: the sender sends as fast as it can for BLAST_SECONDS; the receiver's throughput
#   is the lines it processed over the time from its first datagram to its last, and what was
#   lost is told apart: counted (day2's udpDrops, the kernel's count of its socket) or not;
# - paced: the highest sending rate with zero loss, searched by bisection (geometric) over runs
#   of PACED_SECONDS between 1/32 of and 1.25 times the full-speed throughput of that round.
#   Zero loss: for Etsy statsd, lines processed == lines sent (it cannot count what the kernel
#   dropped); for day2, no drop at all, counted or not (zero unreported loss is what the
#   full-speed runs already check, at the sender's top speed).
#
# How each count is made exact:
# - day2: the receiver prints, once the sender has finished and the socket's queue is empty,
#   what its listener counted (datagrams, lines, parse errors, kernel drops read with SO_MEMINFO)
#   after reading what was still queued, and the sum of every counter its aggregator holds after
#   a last flush (each line is an increment of 1, so that sum must equal the lines).
# - Etsy statsd: a backend module written to the work directory (bench_backend.js) sums, at each
#   flush, the flushed counters named bench.* (the lines statsd parsed and aggregated) and
#   statsd's own metrics_received, packets_received and bad_lines_seen, and counts datagrams with
#   statsd's 'packet' event (a listener that adds one: a function call a datagram, next to the
#   several microseconds statsd spends on one). statsd flushes once more when it exits on SIGTERM, and the backend
#   writes its totals then (synchronously). The script sends SIGTERM only when the socket's
#   receive queue has stayed empty (ss Recv-Q 0, twice 50 ms apart): statsd handles a datagram
#   in the callback that read it, so nothing is then in flight. The management interface is used
#   only to know that statsd is up (`health`); its `counters` are reset at every flush.
#   The kernel's drop count of statsd's socket (ss skmem d) is noted in the raw output, as a
#   cross-check, not as something statsd reports.
# Throughput time: both receivers note, with a 5 ms timer on their own event loop, when their
# datagram count first and last changed; CPU: the receiver's user + system time from its first
# datagram to the end (getrusage; node's process.cpuUsage()).
#
# Socket buffers are what each receiver sets: day2 asks for 4 MiB (SO_RCVBUF, capped at
# net.core.rmem_max and doubled by the kernel), Etsy statsd sets none (net.core.rmem_default).
# No sysctl is changed; the report says what the kernel granted.
#
# Etsy statsd is installed if missing with `npm install --prefix WORK statsd@0.9.0` (with its one
# dependency, generic-pool; its optional ones, a syslog binding and a Windows service helper,
# are left out), into BUILD_DIR/bench/statsd_bench.work/node_modules, kept between runs.
#
# Environment: DAY2_BENCH_ROUNDS (default 3), DAY2_BENCH_STATSD_BLAST_SECONDS (default 3),
# DAY2_BENCH_STATSD_PACED_SECONDS (default 4), DAY2_BENCH_STATSD_SEARCH_STEPS (bisection steps,
# default 5), DAY2_BENCH_STATSD_RECEIVER_CPU (default 1), DAY2_BENCH_STATSD_SENDER_CPU (default
# 0). The defaults take about 6 minutes on 2 cores.
#
# Writes the result table to stdout and to BUILD_DIR/bench/statsd_bench.md; the raw output of
# every tool stays in BUILD_DIR/bench/statsd_bench.work/. Every process it starts is stopped on
# exit.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
ROUNDS=${DAY2_BENCH_ROUNDS:-3}
BLAST_SECONDS=${DAY2_BENCH_STATSD_BLAST_SECONDS:-3}
PACED_SECONDS=${DAY2_BENCH_STATSD_PACED_SECONDS:-4}
STEPS=${DAY2_BENCH_STATSD_SEARCH_STEPS:-5}
RECEIVER_CPU=${DAY2_BENCH_STATSD_RECEIVER_CPU:-1}
SENDER_CPU=${DAY2_BENCH_STATSD_SENDER_CPU:-0}
NAMES=300
ETSY_VERSION=0.9.0

TOOLS=$BUILD/tests/bench
OUT=$BUILD/bench
WORK=$OUT/statsd_bench.work
REPORT=$OUT/statsd_bench.md
ETSY=$WORK/node_modules/statsd/stats.js

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERSION=$(git -C "$REPO" describe --always --dirty 2> /dev/null || echo unknown)
STARTED=$(date +%s)
BENCH=statsd_bench
# shellcheck source=tests/bench/bench_lib.sh
source "$REPO/tests/bench/bench_lib.sh"

for f in "$TOOLS/day2-bench-statsd-receiver" "$TOOLS/day2-bench-statsd-blast"; do
    [[ -x $f ]] || die "$f is missing (build with: ninja -C $BUILD day2-bench-statsd)"
done
for c in node npm ss taskset timeout; do
    command -v "$c" > /dev/null || die "$c is missing (node and npm: apt-get install nodejs npm)"
done
(($(nproc) > RECEIVER_CPU && $(nproc) > SENDER_CPU)) ||
    die "CPUs $RECEIVER_CPU and $SENDER_CPU are needed (DAY2_BENCH_STATSD_*_CPU)"

on_exit() {
    local rc=$?
    set +e
    stop_all
    ((rc == 0)) || say "failed (exit $rc); tool output is in $WORK"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# The work directory is new each run, but for Etsy statsd's installation.
mkdir -p "$WORK" "$OUT"
find "$WORK" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
if [[ $(node -p "require('$WORK/node_modules/statsd/package.json').version" 2> /dev/null) != "$ETSY_VERSION" ]]; then
    say "installing Etsy statsd $ETSY_VERSION from the npm registry into $WORK/node_modules"
    npm install --prefix "$WORK" --no-save --omit=optional --no-audit --no-fund \
        "statsd@$ETSY_VERSION" > "$WORK/npm.log" 2>&1 || die "npm install failed: $(cat "$WORK/npm.log")"
fi
[[ -f $ETSY ]] || die "Etsy statsd is not in $WORK/node_modules"

cat > "$WORK/bench_backend.js" << 'EOF'
// statsd_bench.sh's backend for Etsy statsd: what statsd processed, counted exactly.
// lines: the sum of the flushed counters named bench.* (each line sent is an increment of 1);
// metricsReceived, packetsReceived, badLines: statsd's own counters, summed over the flushes;
// datagrams: statsd's 'packet' events; receiveSeconds: from the first datagram to the last, as
// a 5 ms timer sees the count change; cpuSeconds: process.cpuUsage() from the first datagram.
// Every flush, and the last one statsd makes when it exits, rewrites config.benchOut.
'use strict';
const fs = require('fs');

exports.init = function (startupTime, config, events) {
    let datagrams = 0, seen = 0, first = 0n, last = 0n, cpuAtFirst = null;
    const totals = { lines: 0, metricsReceived: 0, packetsReceived: 0, badLines: 0, flushes: 0 };
    const note = function () {
        if (datagrams === seen)
            return;
        const now = process.hrtime.bigint();
        if (seen === 0) {
            first = now;
            cpuAtFirst = process.cpuUsage();
        }
        last = now;
        seen = datagrams;
    };
    events.on('packet', function () { ++datagrams; });
    setInterval(note, 5).unref();
    events.on('flush', function (timestamp, metrics) {
        note();
        for (const key in metrics.counters) {
            const value = metrics.counters[key];
            if (key.startsWith('bench.'))
                totals.lines += value;
            else if (key.endsWith('.metrics_received'))
                totals.metricsReceived += value;
            else if (key.endsWith('.packets_received'))
                totals.packetsReceived += value;
            else if (key.endsWith('.bad_lines_seen'))
                totals.badLines += value;
        }
        ++totals.flushes;
        const cpu = cpuAtFirst ? process.cpuUsage(cpuAtFirst) : { user: 0, system: 0 };
        const report = Object.assign({ datagrams: datagrams }, totals, {
            receiveSeconds: Number(last - first) / 1e9,
            cpuSeconds: (cpu.user + cpu.system) / 1e6,
        });
        fs.writeFileSync(config.benchOut + '.tmp', JSON.stringify(report) + '\n');
        fs.renameSync(config.benchOut + '.tmp', config.benchOut);
    });
    return true;
};
EOF

# Arithmetic without awk's 6 significant digits: fcalc 'expression'.
fcalc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# A whole number with thousands separators.
num() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'; }
# A number from a one-line flat JSON object: jv FILE KEY.
jv() { sed -n "s/.*\"$2\": *\\([-0-9.e+]*\\).*/\\1/p" "$1" | tail -n 1; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

forget_pid() {
    local kept=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}

# A port nobody listens on now (proto: u or t).
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        [[ -z $(ss -Hln"$1" "sport = :$p") ]] && echo "$p" && return 0
    done
    die "no free port"
}

# The receive socket's memory as ss shows it: skmem FIELD PORT (rb: buffer size, d: drops).
skmem() { ss -Hlunm "sport = :$2" | grep -o 'skmem:([^)]*)' | sed -n "s/.*[(,]$1\\([0-9]*\\).*/\\1/p"; }

# Waits until the UDP socket on PORT has had an empty receive queue twice, 50 ms apart: the
# sender has finished and every datagram it sent is with the receiver, or dropped.
settle() {
    local quiet=0 q
    for _ in $(seq 1200); do
        q=$(ss -Hlun "sport = :$1" | awk 'NR == 1 { print $2 }')
        [[ -n $q ]] || die "nothing listens on UDP port $1 any more"
        if [[ $q == 0 ]]; then
            ((++quiet >= 2)) && return 0
        else
            quiet=0
        fi
        sleep 0.05
    done
    die "the receiver on port $1 did not empty its queue in 60 s"
}

# blast NAME PORT L [RATE] -> WORK/NAME.send
blast() {
    local rate=()
    [[ -n ${4:-} ]] && rate=(--rate "$4")
    local seconds=$BLAST_SECONDS
    [[ -n ${4:-} ]] && seconds=$PACED_SECONDS
    "$TOOLS/day2-bench-statsd-blast" --port "$2" --per-datagram "$3" --names "$NAMES" \
        --seconds "$seconds" --cpu "$SENDER_CPU" "${rate[@]}" > "$WORK/$1.send" ||
        die "$1: the sender failed"
}

# run_day2 NAME L [RATE]: a fresh receiver, one send; writes WORK/NAME.send, NAME.json and
# NAME.result ("processed=... loss=... drops=... cpu_per_million=... rate=... sent_rate=...").
run_day2() {
    local name=$1 per=$2 pid port
    "$TOOLS/day2-bench-statsd-receiver" --cpu "$RECEIVER_CPU" > "$WORK/$name.json" \
        2> "$WORK/$name.err" &
    pid=$!
    PIDS+=("$pid")
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening port=\([0-9]*\)$/\1/p' "$WORK/$name.json")
        [[ -n $port ]] && break
        kill -0 "$pid" 2> /dev/null || die "$name: the receiver exited: $(cat "$WORK/$name.err")"
        sleep 0.05
    done
    [[ -n $port ]] || die "$name: the receiver did not say its port"
    RCVBUF_DAY2=$(skmem rb "$port")
    blast "$name" "$port" "$per" "${3:-}"
    settle "$port"
    kill -USR1 "$pid"
    wait "$pid" || die "$name: the receiver failed: $(cat "$WORK/$name.err")"
    forget_pid "$pid"
    local sent lines drops
    sent=$(kv "$WORK/$name.send" lines)
    lines=$(jv "$WORK/$name.json" lines)
    drops=$(($(jv "$WORK/$name.json" udpDrops) * per))
    [[ $(jv "$WORK/$name.json" counterSum) == "$lines" ]] ||
        die "$name: the aggregated counters ($(jv "$WORK/$name.json" counterSum)) are not the lines ($lines)"
    [[ $(jv "$WORK/$name.json" parseErrors) == 0 && $(jv "$WORK/$name.json" droppedSeries) == 0 ]] ||
        die "$name: parse errors or dropped series: $(cat "$WORK/$name.json")"
    result "$name" "$sent" "$lines" "$drops" "$(jv "$WORK/$name.json" receiveSeconds)" \
        "$(jv "$WORK/$name.json" cpuSeconds)"
}

# run_etsy NAME L [RATE]: a fresh Etsy statsd, one send; the same files as run_day2.
run_etsy() {
    local name=$1 per=$2 pid port mgmt up=
    port=$(free_port u)
    mgmt=$(free_port t)
    cat > "$WORK/$name.config.js" << EOF
{ address: "127.0.0.1", port: $port, mgmt_address: "127.0.0.1", mgmt_port: $mgmt,
  flushInterval: 1000, deleteIdleStats: true, automaticConfigReload: false,
  backends: ["$WORK/bench_backend.js"], benchOut: "$WORK/$name.json" }
EOF
    taskset -c "$RECEIVER_CPU" node "$ETSY" "$WORK/$name.config.js" > "$WORK/$name.err" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 200); do
        kill -0 "$pid" 2> /dev/null || die "$name: Etsy statsd exited: $(cat "$WORK/$name.err")"
        if [[ -n $(ss -Hlun "sport = :$port") ]] &&
            [[ $(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mgmt && echo health >&3 &&
                 head -n 1 <&3" 2> /dev/null) == "health: up" ]]; then
            up=1
            break
        fi
        sleep 0.05
    done
    [[ -n $up ]] || die "$name: Etsy statsd did not start: $(cat "$WORK/$name.err")"
    RCVBUF_ETSY=$(skmem rb "$port")
    blast "$name" "$port" "$per" "${3:-}"
    settle "$port"
    echo "kernel_drops=$(skmem d "$port")" >> "$WORK/$name.send"
    kill -TERM "$pid"
    wait "$pid" || true
    forget_pid "$pid"
    [[ -s $WORK/$name.json ]] || die "$name: the backend wrote nothing: $(cat "$WORK/$name.err")"
    local sent lines
    sent=$(kv "$WORK/$name.send" lines)
    lines=$(jv "$WORK/$name.json" lines)
    [[ $(jv "$WORK/$name.json" metricsReceived) == "$lines" && $(jv "$WORK/$name.json" badLines) == 0 ]] ||
        die "$name: statsd's own counts differ from the bench.* counters: $(cat "$WORK/$name.json")"
    result "$name" "$sent" "$lines" 0 "$(jv "$WORK/$name.json" receiveSeconds)" \
        "$(jv "$WORK/$name.json" cpuSeconds)"
    echo "kernel_drops=$(($(kv "$WORK/$name.send" kernel_drops) * per))" >> "$WORK/$name.result"
}

# result NAME SENT LINES COUNTED_DROPS RECEIVE_SECONDS CPU_SECONDS -> WORK/NAME.result
# (share: the receiver's CPU seconds over its receive time, how much of its core it had)
result() {
    local processed=0 cpm=0 share=0
    if awk -v s="$5" 'BEGIN { exit !(s > 0) }'; then
        processed=$(fcalc "$3 / $5")
        share=$(fcalc "$6 / $5")
    fi
    (($3 > 0)) && cpm=$(fcalc "$6 / $3 * 1000000")
    echo "sent=$2 lines=$3 loss=$(($2 - $3 - $4)) drops=$4 processed=$(fmt_int "$processed")" \
        "cpu_per_million=$cpm share=$share sent_rate=$(kv "$WORK/$1.send" rate)" > "$WORK/$1.result"
    (($2 - $3 - $4 >= 0)) || die "$1: more lines received than sent: $(cat "$WORK/$1.result")"
}

# search CONTENDER L ROUND TOP: bisection for the highest rate with zero loss (see the header),
# between TOP/32 and TOP*1.25 lines/s, at the geometric mean of the two; prints the highest rate that passed ("<R" if none did, R
# the lowest tried, or ">=R" when the sender could not go faster than R and still nothing was
# lost).
search() {
    local who=$1 per=$2 round=$3 top=$4
    local lo hi rate best='' name pass step=0 sent_rate
    lo=$(fcalc "$top / 32")
    hi=$(fcalc "$top * 1.25")
    while ((step < STEPS)); do
        step=$((step + 1))
        rate=$(fmt_int "$(fcalc "sqrt($lo * $hi)")")
        name=$who.$per.$round.paced$step
        "run_$who" "$name" "$per" "$rate"
        pass=0
        [[ $(kv "$WORK/$name.result" loss) == 0 && $(kv "$WORK/$name.result" drops) == 0 ]] && pass=1
        sent_rate=$(kv "$WORK/$name.result" sent_rate)
        say "  $who, $per a datagram, round $round: $rate lines/s asked, $sent_rate sent:" \
            "$( ((pass)) && echo "no loss" || echo "loss $(kv "$WORK/$name.result" loss), drops $(kv "$WORK/$name.result" drops)")"
        if ((pass)); then
            best=$sent_rate
            lo=$rate
            # The sender could not keep up: no faster rate can be tried.
            if awk -v s="$sent_rate" -v r="$rate" 'BEGIN { exit !(s < 0.97 * r) }'; then
                best=">=$sent_rate"
                break
            fi
        else
            hi=$rate
        fi
    done
    echo "${best:-<$rate}"
}

RMEM_MAX=$(sysctl -n net.core.rmem_max)
RMEM_DEFAULT=$(sysctl -n net.core.rmem_default)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "day2 $VERSION; Etsy statsd $ETSY_VERSION on node $(node --version); receivers on CPU" \
    "$RECEIVER_CPU, sender on CPU $SENDER_CPU; net.core.rmem_max $RMEM_MAX; load $LOAD_BEFORE"

for round in $(seq "$ROUNDS"); do
    for per in 1 20; do
        for who in day2 etsy; do
            "run_$who" "$who.$per.$round.blast" "$per"
            say "round $round, $per a datagram, $who at full speed: $(cat "$WORK/$who.$per.$round.blast.result")"
        done
    done
    for per in 1 20; do
        for who in day2 etsy; do
            top=$(kv "$WORK/$who.$per.$round.blast.result" processed)
            search "$who" "$per" "$round" "$top" > "$WORK/$who.$per.$round.search"
            say "round $round, $per a datagram, $who: highest rate without loss $(cat "$WORK/$who.$per.$round.search")"
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# field WHO L KEY -> the values of KEY over the rounds' full-speed runs, one a line.
field() { for r in $(seq "$ROUNDS"); do kv "$WORK/$1.$2.$r.blast.result" "$3"; done; }
med() { field "$@" | median; }
rounds() { field "$@" | paste -sd/ -; }
# The median of the searches; ">=R" counts as R (a lower bound), "<R" as 0.
search_med() {
    for r in $(seq "$ROUNDS"); do
        sed -e 's/^>=//' -e 's/^<.*/0/' "$WORK/$1.$2.$r.search"
    done | median
}
searches() { for r in $(seq "$ROUNDS"); do cat "$WORK/$1.$2.$r.search"; done | paste -sd/ -; }
# "≥ " when a round's search was stopped by the sender.
bound() { if grep -q '^>=' "$WORK/$1.$2".*.search; then echo "≥ "; fi; }
yes_no() { awk "BEGIN { print ($1) ? \"yes\" : \"no\" }"; }

declare -A P LOSS DROPS CPM SHARE ZERO BOUND
for per in 1 20; do
    for who in day2 etsy; do
        P[$who.$per]=$(med "$who" "$per" processed)
        LOSS[$who.$per]=$(med "$who" "$per" loss)
        DROPS[$who.$per]=$(med "$who" "$per" drops)
        CPM[$who.$per]=$(med "$who" "$per" cpu_per_million)
        SHARE[$who.$per]=$(med "$who" "$per" share)
        ZERO[$who.$per]=$(search_med "$who" "$per")
        BOUND[$who.$per]=$(bound "$who" "$per")
    done
done
UNREPORTED_ANY=$(for per in 1 20; do field day2 "$per" loss; done | awk '$1 != 0' | wc -l)
# day2's single-line throughput is the sender's when day2 took in nearly all that was sent.
SENDER_BOUND_1=$(yes_no "${P[day2.1]} >= 0.9 * $(med day2 1 sent_rate)")

{
    echo "# day2 StatsD ingest benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) CPUs, load average before" \
        "$LOAD_BEFORE / after $LOAD_AFTER; day2 $VERSION from $BUILD; Etsy statsd $ETSY_VERSION" \
        "on node $(node --version). Receivers on CPU $RECEIVER_CPU, the sender on CPU $SENDER_CPU;" \
        "net.core.rmem_max $RMEM_MAX, rmem_default $RMEM_DEFAULT (unchanged); receive buffers as" \
        "granted: day2 $RCVBUF_DAY2 bytes, Etsy statsd $RCVBUF_ETSY bytes. Lines" \
        "\`bench.m<k>:1|c|#env:bench\` over $NAMES names; full speed for $BLAST_SECONDS s, paced" \
        "runs of $PACED_SECONDS s, $STEPS bisection steps; $ROUNDS rounds, medians."
    echo
    echo "| contender | lines/datagram | lines/s processed (full speed) | CPU share of its core | loss, unreported | counted drops | CPU s per million lines | highest rate without loss, lines/s | day2/Etsy (processed) | day2/Etsy (without loss) |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for per in 1 20; do
        for who in day2 etsy; do
            label=day2
            [[ $who == etsy ]] && label="Etsy statsd"
            ratio_p=— ratio_z=—
            if [[ $who == day2 ]]; then
                ratio_p=$(printf '%.1f×' "$(fcalc "${P[day2.$per]} / ${P[etsy.$per]}")")
                [[ ${ZERO[etsy.$per]} -gt 0 ]] &&
                    ratio_z=$(printf '%s%.1f×' "${BOUND[day2.$per]}" "$(fcalc "${ZERO[day2.$per]} / ${ZERO[etsy.$per]}")")
            fi
            printf '| %s | %s | %s | %.0f %% | %s | %s | %.3f | %s | %s | %s |\n' "$label" "$per" \
                "$(num "${P[$who.$per]}")" "$(fcalc "${SHARE[$who.$per]} * 100")" \
                "$(num "${LOSS[$who.$per]}")" "$(num "${DROPS[$who.$per]}")" \
                "${CPM[$who.$per]}" "${BOUND[$who.$per]}$(num "${ZERO[$who.$per]}")" "$ratio_p" \
                "$ratio_z"
        done
    done
    echo
    echo "Targets:"
    echo
    echo "| target | measured | met? |"
    echo "|---|---|---|"
    for per in 1 20; do
        r=$(fcalc "${P[day2.$per]} / ${P[etsy.$per]}")
        printf '| ≥ 20× Etsy statsd, %s a datagram, lines/s processed | %.1f× | %s |\n' "$per" "$r" \
            "$(yes_no "$r >= 20")"
        r=$(fcalc "${CPM[etsy.$per]} / ${CPM[day2.$per]}")
        printf '| ≥ 20× Etsy statsd, %s a datagram, CPU per line (Etsy/day2) | %.1f× | %s |\n' "$per" \
            "$r" "$(yes_no "$r >= 20")"
    done
    printf '| ≥ 2,000,000 lines/s, 20 a datagram | %s | %s |\n' "$(num "${P[day2.20]}")" \
        "$(yes_no "${P[day2.20]} >= 2000000")"
    printf '| ≥ 400,000 datagrams/s, 1 a datagram | %s%s | %s |\n' "$(num "${P[day2.1]}")" \
        "$([[ $SENDER_BOUND_1 == yes ]] && echo " (sender-bound: the sender's top speed)")" \
        "$(yes_no "${P[day2.1]} >= 400000")"
    printf '| the same, from CPU cost: one core at 1 s / (CPU s per line) | %s | %s |\n' \
        "$(num "$(fcalc "1000000 / ${CPM[day2.1]}")")" \
        "$(yes_no "1000000 / ${CPM[day2.1]} >= 400000")"
    printf '| day2: no unreported loss at full speed, every run | %s | %s |\n' \
        "$( ((UNREPORTED_ANY == 0)) && echo "0 lines in every run" || echo "$UNREPORTED_ANY runs lost lines")" \
        "$(yes_no "$UNREPORTED_ANY == 0")"
    echo
    echo "Rounds (full speed, lines/s processed; the sender's lines/s; CPU s per million lines):"
    for per in 1 20; do
        for who in day2 etsy; do
            echo "- $who, $per a datagram: $(rounds "$who" "$per" processed); sent" \
                "$(rounds "$who" "$per" sent_rate); CPU $(rounds "$who" "$per" cpu_per_million);" \
                "counted drops $(rounds "$who" "$per" drops); unreported loss $(rounds "$who" "$per" loss);" \
                "$([[ $who == etsy ]] && echo "lines in datagrams the kernel dropped at statsd's socket (ss, not seen by statsd) $(rounds etsy "$per" kernel_drops);")" \
                "highest rate without loss $(searches "$who" "$per")"
        done
    done
    echo
    echo "Processed: lines over the time from the receiver's first datagram to its last; CPU" \
        "share: the receiver's CPU time over that time (below 100 % it was not the receiver's" \
        "speed that limited it: the sender, or other work on its core). Loss," \
        "unreported: lines sent that the receiver neither processed nor counted as dropped (all of" \
        "Etsy statsd's loss: it cannot see what the kernel drops). Highest rate without loss:" \
        "bisection over ${PACED_SECONDS}-s paced runs (no drop at all for day2, nothing lost for Etsy" \
        "statsd); \">=\" when the sender could go no faster. CPU: the receiver's user + system" \
        "time from its first datagram to its end."
} > "$REPORT"
cat "$REPORT"
say "done in $(($(date +%s) - STARTED)) s; table in $REPORT"
