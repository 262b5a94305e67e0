#!/usr/bin/env bash
# Regenerates the results of BENCHMARKS.md: builds the release binary, writes a configuration with
# 1,000 agents, then runs the load generator's vendor profile and max profile, each against a fresh
# T-Server (release build, its own data directory, logs at warn), and rewrites the block between
# the RESULTS markers of BENCHMARKS.md from the two JSON reports. Outputs (JSON, SVG, summaries,
# server logs) stay in target/bench/.
#
#   scripts/bench-report.sh                         # the full vendor profile (~9 minutes) + max
#   VENDOR_DURATION=60s scripts/bench-report.sh     # a shortened vendor run (the table says so)
#   MAX_ARGS="--step-duration 5s --max-steps 6" scripts/bench-report.sh
#   SKIP_BUILD=1 scripts/bench-report.sh            # reuse target/release/sfb-tserver
#   SKIP_VENDOR=1 scripts/bench-report.sh           # reuse target/bench/vendor.json
#   ROUTER=reference scripts/bench-report.sh        # route with the server's [router], not the
#                                                   # load generator's (vendor: 1 call per agent)
#   BIG=1 scripts/bench-report.sh                   # instead: issue #8's target run, 10,000 agents,
#                                                   # 1,000 CPS for BIG_DURATION (600s), hold 20 s,
#                                                   # 3 updates per call, 3 call slots per agent
#                                                   # (target/bench/big.json)
#   SPLIT=1 BIG=1 scripts/bench-report.sh           # the same with the Connector and its simulated
#                                                   # SfB in their own process, as deployed (the
#                                                   # guide's Connector runs on its own host);
#                                                   # target/bench/big-split.json, and the Connector
#                                                   # process's CPU and peak RSS in big-split.txt
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-target/bench}
AGENTS=${AGENTS:-1000}
BIN=${BIN:-target/release/sfb-tserver}
mkdir -p "$OUT"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release
[ -z "${BIG:-}" ] || AGENTS=${BIG_AGENTS:-10000}
# The table below this script rewrites is the embedded process's: SPLIT is for the BIG run only.
[ -z "${SPLIT:-}" ] || [ -n "${BIG:-}" ] || { echo "SPLIT=1 needs BIG=1" >&2; exit 1; }
"$BIN" load --write-config "$OUT/load.toml" --agents "$AGENTS"

SERVER_PID=""
CONNECTOR_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
    if [ -n "$CONNECTOR_PID" ]; then
        kill "$CONNECTOR_PID" 2>/dev/null || true
        wait "$CONNECTOR_PID" 2>/dev/null || true
        CONNECTOR_PID=""
    fi
}

# wait_ready FILE PID: until FILE has the READY line (or the process died).
wait_ready() {
    for _ in $(seq 1 600); do
        grep -q '^READY' "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_connector NAME (SPLIT=1): the Connector process on free ports; sets CONNECTOR_PID, SIM and
# writes the T-Server's configuration $OUT/load-NAME.toml with its link on the bound port.
start_connector() {
    RUST_LOG=${SERVER_LOG:-warn} "$BIN" connector --config "$OUT/load.toml" --connector connector1=127.0.0.1:0 \
        --control-listen 127.0.0.1:0 --data-dir "$OUT/data-$1/connector" \
        >"$OUT/ready-$1-connector.txt" 2>"$OUT/connector-$1.log" &
    CONNECTOR_PID=$!
    wait_ready "$OUT/ready-$1-connector.txt" "$CONNECTOR_PID" || { cat "$OUT/connector-$1.log" >&2; exit 1; }
    SIM=$(sed -n 's/^READY control=\([^ ]*\) .*/\1/p' "$OUT/ready-$1-connector.txt")
    local port
    port=$(sed -n 's/.*connectors=connector1@[^ ]*:\([0-9]*\).*/\1/p' "$OUT/ready-$1-connector.txt")
    sed "s/^port = [0-9]*/port = $port/" "$OUT/load.toml" >"$OUT/load-$1.toml"
}
trap stop_server EXIT

# start_server NAME: a fresh T-Server on free ports; sets SERVER_PID, TLIB, ADMIN.
start_server() {
    rm -rf "$OUT/data-$1"
    # The load generator's internal router routes (it can give an agent 2 calls, which 1,200 calls
    # on 1,000 agents need); ROUTER=reference keeps the server's [router] instead.
    local router_enabled=false embedded=true config="$OUT/load.toml"
    [ "${ROUTER:-internal}" = reference ] && router_enabled=true
    SIM=""
    if [ -n "${SPLIT:-}" ]; then
        start_connector "$1"
        embedded=false config="$OUT/load-$1.toml"
    fi
    SFB_TSERVER_SERVER__EMBEDDED_CONNECTOR=$embedded SFB_TSERVER_ROUTER__ENABLED=$router_enabled \
        RUST_LOG=${SERVER_LOG:-warn} "$BIN" run --config "$config" --tlib-listen 127.0.0.1:0 \
        --admin-listen 127.0.0.1:0 --connector-listen 127.0.0.1:0 --data-dir "$OUT/data-$1" \
        >"$OUT/ready-$1.txt" 2>"$OUT/server-$1.log" &
    SERVER_PID=$!
    wait_ready "$OUT/ready-$1.txt" "$SERVER_PID" || { cat "$OUT/server-$1.log" >&2; exit 1; }
    TLIB=$(sed -n 's/^READY tlib=\([^ ]*\) .*/\1/p' "$OUT/ready-$1.txt")
    ADMIN=$(sed -n 's/.* admin=\([^ ]*\).*/\1/p' "$OUT/ready-$1.txt")
    [ -n "$TLIB" ] || { echo "no READY line from the server" >&2; exit 1; }
}

# run_profile NAME ARGS...: one load run against a fresh server; an unhealthy run (exit 2) still
# produces its report.
run_profile() {
    local name=$1; shift
    start_server "$name"
    echo "== $name: $BIN load $* (server pid $SERVER_PID)"
    set +e
    "$BIN" load --server "$TLIB" --admin "$ADMIN" ${SIM:+--sim "$SIM"} --server-pid "$SERVER_PID" \
        --json "$OUT/$name.json" --plot "$OUT/$name.svg" "$@" | tee "$OUT/$name.txt"
    local status=${PIPESTATUS[0]}
    set -e
    [ "$status" -le 2 ] || { echo "load run $name failed ($status)" >&2; exit 1; }
    if [ -n "$CONNECTOR_PID" ]; then
        awk -v hz="$(getconf CLK_TCK)" '{ printf "   Connector process (pid %s): %.2f CPU s, ", $1, ($14 + $15) / hz }' \
            "/proc/$CONNECTOR_PID/stat" | tee -a "$OUT/$name.txt"
        awk '/VmHWM/ { printf "peak RSS %.1f MiB\n", $2 / 1024 }' "/proc/$CONNECTOR_PID/status" | tee -a "$OUT/$name.txt"
    fi
    stop_server
}

if [ -n "${BIG:-}" ]; then
    # 20,000 simultaneous calls on 10,000 agents: 1,000 CPS x (20 s hold + answer delay). Three
    # call slots per agent, not two: two give 20,000 slots for calls that each hold one for 20.35 s
    # (answer delay, hold, release), 983 CPS, so at 1,000 CPS callers queue for agents and the
    # queue grows all run (the load generator warns). The summary (and the JSON) carry CPU seconds
    # and peak RSS; no table rewrite.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    run_profile "big${SPLIT:+-split}" --agents "$AGENTS" --cps "${BIG_CPS:-1000}" --duration "${BIG_DURATION:-600s}" --hold 20s \
        --updates 3 --calls-per-agent "${BIG_CALLS_PER_AGENT:-3}"
    exit 0
fi

# shellcheck disable=SC2086
[ -n "${SKIP_VENDOR:-}" ] || run_profile vendor --profile vendor ${VENDOR_DURATION:+--duration $VENDOR_DURATION}
# shellcheck disable=SC2086
run_profile max --profile max --agents "$AGENTS" ${MAX_ARGS:-}

TABLE="$OUT/results.md"
"$BIN" load --results-table "$OUT/vendor.json" "$OUT/max.json" >"$TABLE"
awk -v table="$TABLE" '
    /<!-- BEGIN RESULTS/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- END RESULTS/ { skip = 0 }
    !skip { print }
' BENCHMARKS.md >"$OUT/BENCHMARKS.md.new"
mv "$OUT/BENCHMARKS.md.new" BENCHMARKS.md
cp "$OUT/vendor.svg" docs/bench-vendor-latency.svg
cp "$OUT/max.svg" docs/bench-max-latency.svg
echo "BENCHMARKS.md rewritten from $OUT/vendor.json and $OUT/max.json"
