#!/bin/sh
# Full-cycle benchmark (not a test) of issue 3: the simulated 10,000-line bench network
# (8 OLTs of 1,250 ONUs, 100 radios; agents add 2 ms per request) polled by the daemon's own
# poller through one shared engine, status cycle by status cycle. Prints wall time, values,
# requests, the latency floor, the daemon's CPU-seconds and peak RSS per cycle, for each
# GETBULK max-repetitions asked (default 10, the daemon's default, then 25 and 50).
#
#   bench/cycle.sh [ARGS...]        # ~1.5 minutes; e.g. --cycles 8 --max-repetitions 10
#
# The network runs in its own process (coopnoc-sim bench), started and stopped by
# daemon/examples/cycle_bench.rs, so the CPU figures are the poller's alone. See
# bench/README.md, "Full cycle".
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
echo "building cycle_bench and coopnoc-sim (release)..." >&2
# One cargo invocation for both: built apart, feature unification differs and rebuilds deps.
(cd "$ROOT" && cargo build --quiet --release -p coopnocd -p coopnoc-sim --example cycle_bench --bin coopnoc-sim)
T=${CARGO_TARGET_DIR:-$ROOT/target}/release
exec "$T/examples/cycle_bench" --sim "$T/coopnoc-sim" "$@"
