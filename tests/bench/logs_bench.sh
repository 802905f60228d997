#!/usr/bin/env bash
# The logs benchmark: day2-agent against systemd-journal-gatewayd, journalctl and a bare
# sd-journal loop over the same 1,000,000-entry journal, then follow latency and the memory of
# 200 idle followers. Needs root (it runs a private journald namespace).
#
#   tests/bench/logs_bench.sh [BUILD_DIR]     (default: build; build the tools first with
#                                              `ninja -C BUILD_DIR day2-bench`)
#
# Environment: DAY2_BENCH_ENTRIES (default 1000000), DAY2_BENCH_FOLLOW_SECONDS (default 10),
# DAY2_BENCH_FOLLOWERS (default 200), DAY2_BENCH_IDLE_SECONDS (how long the followers sit idle
# before the agent's memory is read; default 20, past the 15 s SSE ping),
# DAY2_BENCH_GATEWAYD_SECONDS (longest gatewayd may take; past it, its rate is taken from what
# arrived; default 240), DAY2_BENCH_ROUNDS (runs of the bare loops and of range, the median
# counts; default 3).
#
# Writes the result table to stdout and to BUILD_DIR/bench/logs_bench.md; the raw output of every
# tool stays in BUILD_DIR/bench/logs_bench.work/. Every process it starts is stopped on exit.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
ENTRIES=${DAY2_BENCH_ENTRIES:-1000000}
FOLLOW_SECONDS=${DAY2_BENCH_FOLLOW_SECONDS:-10}
FOLLOWERS=${DAY2_BENCH_FOLLOWERS:-200}
IDLE_SECONDS=${DAY2_BENCH_IDLE_SECONDS:-20}
ROUNDS=${DAY2_BENCH_ROUNDS:-3}
GATEWAYD_SECONDS=${DAY2_BENCH_GATEWAYD_SECONDS:-240}

AGENT=$BUILD/server/agent/day2-agent
TOOLS=$BUILD/tests/bench
JOURNALD=/lib/systemd/systemd-journald
GATEWAYD=/usr/lib/systemd/systemd-journal-gatewayd
OUT=$BUILD/bench
WORK=$OUT/logs_bench.work
REPORT=$OUT/logs_bench.md

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERSION=$(git -C "$REPO" describe --always --dirty 2> /dev/null || echo unknown)

NS=day2bench$$
MID=$(cat /etc/machine-id)
JDIR=/var/log/journal/$MID.$NS
CONF=/etc/systemd/journald@$NS.conf
STARTED=$(date +%s)
BENCH=logs_bench
# shellcheck source=tests/bench/bench_lib.sh
source "$REPO/tests/bench/bench_lib.sh"

[[ $EUID -eq 0 ]] || die "needs root (it starts a private systemd-journald)"
for f in "$AGENT" "$TOOLS/day2-bench-journal-fill" "$TOOLS/day2-bench-bare-loop" \
    "$TOOLS/day2-bench-http-count" "$TOOLS/day2-bench-follow" "$TOOLS/day2-bench-followers" \
    "$TOOLS/day2-bench-journald-keepalive" "$JOURNALD" "$GATEWAYD"; do
    [[ -x $f ]] || die "$f is missing (build with: ninja -C $BUILD day2-bench)"
done
command -v systemd-socket-activate > /dev/null || die "systemd-socket-activate is missing"
command -v journalctl > /dev/null || die "journalctl is missing"
command -v nginx > /dev/null || die "nginx is missing (packaging/deps.sh)"

# --- 1. a journald namespace with ENTRIES entries -------------------------------------------
bench_begin

say "filling $ENTRIES entries"
"$TOOLS/day2-bench-journal-fill" --namespace "$NS" --count "$ENTRIES" > "$WORK/fill.out"
JOURNAL_BYTES=$(du -sb "$JDIR" | cut -f1)
JOURNAL_FILES=$(find "$JDIR" -name '*.journal' | wc -l)
say "journal: $((JOURNAL_BYTES / 1048576)) MiB in $JOURNAL_FILES files; warming the page cache"
cat "$JDIR"/*.journal > /dev/null

# --- 2. reading the same files -----------------------------------------------------------------
# The quick readers run ROUNDS times, interleaved so that a noisy neighbour hits them alike; each
# is represented by its median run.
median_of() { # name -> copies the median (by rate) of WORK/name.1..ROUNDS to WORK/name.out
    local best
    best=$(for i in $(seq "$ROUNDS"); do echo "$(kv "$WORK/$1.$i" rate) $i"; done |
        sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) { print $2 }')
    cp "$WORK/$1.$best" "$WORK/$1.out"
    for i in $(seq "$ROUNDS"); do kv "$WORK/$1.$i" rate; done | paste -sd, - > "$WORK/$1.rates"
}
say "bare loop, bare loop with cursors, and day2-agent range/ (Accept: application/json," \
    "--journal-directory): $ROUNDS rounds"
start_agent range --journal-directory "$JDIR"
RANGE_PID=$AGENT_PID
for i in $(seq "$ROUNDS"); do
    "$TOOLS/day2-bench-bare-loop" --directory "$JDIR" > "$WORK/bare.$i"
    "$TOOLS/day2-bench-bare-loop" --directory "$JDIR" --with-cursor > "$WORK/bare-cursor.$i"
    "$TOOLS/day2-bench-http-count" --accept application/json \
        --url "http://127.0.0.1:$AGENT_PORT/system/v1/logs/v1/range/" > "$WORK/range.$i"
    say "  round $i: bare $(kv "$WORK/bare.$i" rate)/s, with cursors" \
        "$(kv "$WORK/bare-cursor.$i" rate)/s, range $(kv "$WORK/range.$i" rate)/s"
done
RANGE_RSS_KB=$(awk '/^VmHWM/ { print $2 }' "/proc/$RANGE_PID/status")
stop_pid "$RANGE_PID"
median_of bare
median_of bare-cursor
median_of range
BARE_COUNT=$(kv "$WORK/bare.out" entries)
BARE_RATE=$(kv "$WORK/bare.out" rate)
BARE_CURSOR_RATE=$(kv "$WORK/bare-cursor.out" rate)
RANGE_COUNT=$(kv "$WORK/range.out" objects)
RANGE_RATE=$(kv "$WORK/range.out" rate)
for i in $(seq "$ROUNDS"); do
    [[ $(kv "$WORK/range.$i" objects) == "$RANGE_COUNT" ]] || die "range counts differ between runs"
done

say "journalctl --directory -o json > /dev/null"
T0=$(date +%s.%N)
journalctl --directory="$JDIR" -o json --no-pager > /dev/null
T1=$(date +%s.%N)
JCTL_SECONDS=$(calc "$T1 - $T0")
say "  ${JCTL_SECONDS} s; counting its lines in a second run"
journalctl --directory="$JDIR" -o json --no-pager |
    "$TOOLS/day2-bench-http-count" --stdin > "$WORK/journalctl.out"
JCTL_COUNT=$(kv "$WORK/journalctl.out" objects)
JCTL_RATE=$(calc "$JCTL_COUNT / $JCTL_SECONDS")
JCTL_PIPE_RATE=$(kv "$WORK/journalctl.out" rate)
say "  $JCTL_COUNT entries, $(fmt_int "$JCTL_RATE")/s (piped: $JCTL_PIPE_RATE/s)"

say "systemd-journal-gatewayd /entries (Accept: application/json, --directory)"
GW_PORT=$("$TOOLS/day2-bench-http-count" --free-port)
systemd-socket-activate -l "127.0.0.1:$GW_PORT" "$GATEWAYD" --directory="$JDIR" \
    > "$WORK/gatewayd.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
for _ in $(seq 100); do
    [[ -n $(ss -Hltn "sport = :$GW_PORT") ]] && break
    kill -0 "$GW_PID" 2> /dev/null || die "socket-activate exited: $(cat "$WORK/gatewayd.log")"
    sleep 0.1
done
# Without a Range header gatewayd sends every entry (checked against the bare loop's count).
"$TOOLS/day2-bench-http-count" --accept application/json --max-seconds "$GATEWAYD_SECONDS" \
    --url "http://127.0.0.1:$GW_PORT/entries" > "$WORK/gatewayd.out"
GW_COUNT=$(kv "$WORK/gatewayd.out" objects)
GW_RATE=$(kv "$WORK/gatewayd.out" rate)
GW_COMPLETE=$(kv "$WORK/gatewayd.out" complete)
stop_pid "$GW_PID"
GW_NOTE=
[[ $GW_COMPLETE == 1 ]] || GW_NOTE=", stopped after $GATEWAYD_SECONDS s"
say "  $GW_COUNT entries, $GW_RATE/s$GW_NOTE"

# --- 3. follow latency and idle followers on the live namespace ---------------------------------
say "day2-agent on the live namespace"
start_agent live --journal-namespace "$NS"
LIVE_PID=$AGENT_PID
LIVE_PORT=$AGENT_PORT
for rate in 1000 20000; do
    say "follow latency at $rate entries/s for $FOLLOW_SECONDS s (+1 s warm-up)"
    rc=0
    "$TOOLS/day2-bench-follow" --url "http://127.0.0.1:$LIVE_PORT" --namespace "$NS" \
        --rate "$rate" --seconds "$FOLLOW_SECONDS" --warmup 1 > "$WORK/follow-$rate.out" || rc=$?
    [[ -s $WORK/follow-$rate.out ]] || die "day2-bench-follow failed (exit $rc)"
    say "  $(cat "$WORK/follow-$rate.out")"
    sleep 3  # let the agent's busy polling window end
done

say "follow latency at 1000 entries/s through Adminrouter (nginx on loopback, no TLS)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ar.key" \
    -out "$WORK/ar.pem" -days 1 -subj "/CN=127.0.0.1" 2> /dev/null
AR_PORT=$("$TOOLS/day2-bench-http-count" --free-port)
AR_PLAIN=$("$TOOLS/day2-bench-http-count" --free-port)
LIVE_ID=$(sed -n 's/.*agent \([0-9a-f-]*\) serving.*/\1/p' "$WORK/agent-live.log" | head -1)
printf '{"listen": "127.0.0.1:%s", "listen_plain_loopback": "127.0.0.1:%s",
  "tls": {"certificate": "ar.pem", "key": "ar.key"},
  "agents": [{"agent_id": "%s", "address": "127.0.0.1:%s"}]}\n' \
    "$AR_PORT" "$AR_PLAIN" "$LIVE_ID" "$LIVE_PORT" > "$WORK/inventory.json"
python3 "$REPO/packaging/adminrouter/render.py" "$WORK/inventory.json" --out "$WORK/adminrouter" > /dev/null
nginx -p "$WORK/adminrouter" -c "$WORK/adminrouter/nginx.conf" -g 'daemon off;' \
    > "$WORK/nginx.out" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
for _ in $(seq 100); do
    [[ -n $(ss -Hltn "sport = :$AR_PLAIN") ]] && break
    sleep 0.1
done
"$TOOLS/day2-bench-follow" --url "http://127.0.0.1:$AR_PLAIN" --prefix "/system/v1/agent/$LIVE_ID" \
    --namespace "$NS" --rate 1000 --seconds "$FOLLOW_SECONDS" --warmup 1 > "$WORK/follow-proxy.out" ||
    die "day2-bench-follow through Adminrouter failed"
stop_pid "$NGINX_PID"
say "  $(cat "$WORK/follow-proxy.out")"
sleep 3

read_rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
read_pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
IDLE_RSS_KB=$(read_rss "$LIVE_PID" VmRSS)
IDLE_ANON_KB=$(read_rss "$LIVE_PID" RssAnon)
say "agent VmRSS before followers: $IDLE_RSS_KB kB; opening $FOLLOWERS idle followers"
"$TOOLS/day2-bench-followers" --url "http://127.0.0.1:$LIVE_PORT" --count "$FOLLOWERS" \
    > "$WORK/followers.out" 2>&1 &
FOLLOWERS_PID=$!
PIDS+=("$FOLLOWERS_PID")
for _ in $(seq 300); do
    grep -q '^ready' "$WORK/followers.out" && break
    kill -0 "$FOLLOWERS_PID" 2> /dev/null || die "followers: $(cat "$WORK/followers.out")"
    sleep 0.1
done
grep -q '^ready' "$WORK/followers.out" || die "the followers did not connect within 30 s"
# Sample while they sit idle (the agent may release an idle follower's journal after a while);
# the table takes the last sample.
FOL_PEAK_KB=0
FOL_FIRST_KB=
FOL_UNDER_AT=never
for i in $(seq $((IDLE_SECONDS * 2))); do
    sleep 0.5
    kb=$(read_rss "$LIVE_PID" VmRSS)
    [[ -n $FOL_FIRST_KB ]] || FOL_FIRST_KB=$kb
    ((kb > FOL_PEAK_KB)) && FOL_PEAK_KB=$kb
    [[ $FOL_UNDER_AT != never ]] || ((kb >= 65536)) || FOL_UNDER_AT="$(calc "$i / 2") s"
    echo "$(calc "$i / 2") $kb" >> "$WORK/followers-rss.txt"
done
FOL_RSS_KB=$(read_rss "$LIVE_PID" VmRSS)
FOL_ANON_KB=$(read_rss "$LIVE_PID" RssAnon)
FOL_FILE_KB=$(read_rss "$LIVE_PID" RssFile)
FOL_PSS_KB=$(read_pss "$LIVE_PID")
FOL_FDS=$(find "/proc/$LIVE_PID/fd" -mindepth 1 | wc -l)
FOL_MAPS=$(wc -l < "/proc/$LIVE_PID/maps")
stop_pid "$FOLLOWERS_PID"
stop_pid "$LIVE_PID"
say "  VmRSS after $IDLE_SECONDS s: $FOL_RSS_KB kB (anon $FOL_ANON_KB, file $FOL_FILE_KB," \
    "Pss $FOL_PSS_KB); at 0.5 s $FOL_FIRST_KB kB, peak $FOL_PEAK_KB kB"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 4. the table -------------------------------------------------------------------------------
# met LHS OP RHS -> yes/no (OP is >= or <)
met() {
    awk -v a="$1" -v op="$2" -v b="$3" \
        'BEGIN { print ((op == ">=") ? a >= b : a < b) ? "yes" : "no" }'
}
COUNTS_OK=yes
[[ $RANGE_COUNT == "$BARE_COUNT" && $JCTL_COUNT == "$BARE_COUNT" ]] || COUNTS_OK=no
[[ $GW_COMPLETE != 1 || $GW_COUNT == "$BARE_COUNT" ]] || COUNTS_OK=no

ratio_row() { # label anchor-rate target-ratio
    local r ok
    r=$(calc "$RANGE_RATE / $2")
    ok=$(met "$r" ">=" "$3")
    [[ $COUNTS_OK == yes ]] || ok="no (counts differ)"
    printf '| %s | %s | %s | %.2f× | ≥ %s× | %s |\n' \
        "$1" "$RANGE_RATE" "$(fmt_int "$2")" "$r" "$3" "$ok"
}
follow_row() { # rate [target-ms]
    local f=$WORK/follow-$1.out
    local p99 lost dup ok target="none set"
    p99=$(kv "$f" p99_ms)
    lost=$(kv "$f" lost)
    dup=$(kv "$f" dup)
    if [[ -n ${2:-} ]]; then
        target="< $2 ms"
        ok=$(met "$p99" "<" "$2")
        ((lost == 0 && dup == 0)) || ok="no ($lost lost, $dup duplicated)"
    else
        ok="n/a"
        ((lost == 0 && dup == 0)) || ok="n/a ($lost lost, $dup duplicated)"
    fi
    printf '| follow p99 at %s entries/s, write → SSE line (ms) | %s | p50 %s | — | %s | %s |\n' \
        "$1" "$p99" "$(kv "$f" p50_ms)" "$target" "$ok"
}
follow_detail() { # rate
    local f=$WORK/follow-$1.out
    printf -- '- follow at %s/s: sent %s (at %s/s), stored by journald %s, received %s, ' \
        "$1" "$(kv "$f" sent)" "$(kv "$f" send_rate)" "$(kv "$f" stored)" "$(kv "$f" received)"
    printf 'lost %s (%s runs, sequence numbers %s), duplicated %s, out of order %s; ' \
        "$(kv "$f" lost)" "$(kv "$f" lost_runs)" "$(kv "$f" lost_seqs)" "$(kv "$f" dup)" \
        "$(kv "$f" reordered)"
    printf 'over the %s measured entries p50 %s, p90 %s, p99 %s, p99.9 %s, max %s ms; ' \
        "$(kv "$f" measured)" "$(kv "$f" p50_ms)" "$(kv "$f" p90_ms)" "$(kv "$f" p99_ms)" \
        "$(kv "$f" p999_ms)" "$(kv "$f" max_ms)"
    printf 'warm-up second (not in the percentiles): max %s ms, first entry %s ms.\n' \
        "$(kv "$f" warmup_max_ms)" "$(kv "$f" first_ms)"
}

{
    echo "# day2 logs benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) CPUs, load average" \
        "before $LOAD_BEFORE / after $LOAD_AFTER; day2-agent $VERSION from $BUILD" \
        "(built $(date -u -r "$AGENT" +%Y-%m-%dT%H:%M:%SZ))."
    echo "Journal: $BARE_COUNT entries ($ENTRIES from day2-bench-journal-fill, the rest" \
        "journald's own), $((JOURNAL_BYTES / 1048576)) MiB in $JOURNAL_FILES files, filled at" \
        "$(kv "$WORK/fill.out" rate) entries/s."
    echo
    echo "| measurement | day2 | anchor | ratio | target | met? |"
    echo "|---|---|---|---|---|---|"
    ratio_row "range JSON vs gatewayd /entries JSON (entries/s)" "$GW_RATE" 10
    ratio_row "range JSON vs journalctl -o json > /dev/null (entries/s)" "$JCTL_RATE" 3
    ratio_row "range JSON vs bare sd_journal_next + enumerate_data (entries/s)" "$BARE_RATE" 0.5
    follow_row 1000 10
    follow_row 20000
    printf '| follow p99 at 1000 entries/s through Adminrouter (nginx, loopback) (ms) | %s | p50 %s; direct p99 %s | %.2f× | ≈ direct | %s |\n' \
        "$(kv "$WORK/follow-proxy.out" p99_ms)" "$(kv "$WORK/follow-proxy.out" p50_ms)" \
        "$(kv "$WORK/follow-1000.out" p99_ms)" \
        "$(calc "$(kv "$WORK/follow-proxy.out" p99_ms) / $(kv "$WORK/follow-1000.out" p99_ms)")" \
        "$( (($(kv "$WORK/follow-proxy.out" lost) == 0)) && echo "lost 0" || echo "lost $(kv "$WORK/follow-proxy.out" lost)")"
    printf '| agent VmRSS, %s followers idle %s s (MiB) | %.1f | %.1f before | — | %s | %s |\n' \
        "$FOLLOWERS" "$IDLE_SECONDS" "$(calc "$FOL_RSS_KB / 1024")" \
        "$(calc "$IDLE_RSS_KB / 1024")" "< 64 MiB" "$(met "$FOL_RSS_KB" "<" 65536)"
    echo
    echo "Details:"
    echo "- Every reader got the same entries: $COUNTS_OK (bare loop $BARE_COUNT, agent" \
        "$RANGE_COUNT, journalctl $JCTL_COUNT, gatewayd $GW_COUNT$GW_NOTE)."
    echo "- Rounds (entries/s): range $(cat "$WORK/range.rates"); bare loop" \
        "$(cat "$WORK/bare.rates"); bare loop with cursors $(cat "$WORK/bare-cursor.rates")."
    echo "- range: $(kv "$WORK/range.out" bytes) bytes in $(kv "$WORK/range.out" seconds) s," \
        "first byte after $(kv "$WORK/range.out" first_byte) s; that agent's VmHWM" \
        "$((RANGE_RSS_KB / 1024)) MiB."
    echo "- bare loop: $(kv "$WORK/bare.out" fields) fields, $(kv "$WORK/bare.out" bytes) bytes" \
        "in $(kv "$WORK/bare.out" seconds) s. Adding sd_journal_get_cursor and both timestamps" \
        "(what a JSON line needs besides the fields): $BARE_CURSOR_RATE entries/s; range" \
        "reaches $(calc "$RANGE_RATE / $BARE_CURSOR_RATE" | cut -c1-4)× of that."
    echo "- journalctl: $JCTL_SECONDS s to /dev/null; piped into a line counter (second run," \
        "for the count) $JCTL_PIPE_RATE entries/s."
    echo "- gatewayd: $(kv "$WORK/gatewayd.out" bytes) bytes in" \
        "$(kv "$WORK/gatewayd.out" seconds) s, without a Range header."
    follow_detail 1000
    follow_detail 20000
    echo "- $FOLLOWERS idle followers: VmRSS $FOL_RSS_KB kB = RssAnon $FOL_ANON_KB kB +" \
        "RssFile $FOL_FILE_KB kB (+ RssShmem); Pss $FOL_PSS_KB kB; $FOL_FDS open descriptors," \
        "$FOL_MAPS mappings. VmRSS 0.5 s after they connected: $FOL_FIRST_KB kB, peak" \
        "$FOL_PEAK_KB kB, under 64 MiB from: $FOL_UNDER_AT (samples every 0.5 s in" \
        "$WORK/followers-rss.txt). Before them: VmRSS $IDLE_RSS_KB kB, RssAnon $IDLE_ANON_KB kB."
} > "$REPORT"

cat "$REPORT"
say "done in $(($(date +%s) - STARTED)) s; table in $REPORT"
