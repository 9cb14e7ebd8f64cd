#!/bin/sh
# Daemon memory benchmark (not a test) of issue 4: "daemon memory under 64 MiB RSS while
# tracking 10,000 lines". Runs the real coopnocd (release) on the simulated bench network
# (coopnoc-sim bench: 8 OLTs of 1,250 ONUs, 100 radios, in its own process), imports 10,000
# lines with `coopnoc import`, lets it poll on its own schedule, and prints VmRSS, VmHWM
# (peak RSS) and the daemon's CPU-seconds per poll cycle. See bench/README.md, "Daemon memory".
#
#   bench/daemon-rss.sh [ARGS...]   # ~3 minutes after the build; ARGS: see bench/daemon_rss.py
#                                   # e.g. --cycles 6 --status-interval 10s --labels-interval 6h
#
# Everything it starts (sim, daemon) lives in a temp dir and is stopped at the end.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
echo "building coopnocd, coopnoc and coopnoc-sim (release)..." >&2
# One cargo invocation: built apart, feature unification differs and rebuilds dependencies.
(cd "$ROOT" && cargo build --quiet --release -p coopnocd -p coopnoc -p coopnoc-sim \
  --bin coopnocd --bin coopnoc --bin coopnoc-sim)
exec python3 "$HERE/daemon_rss.py" "${CARGO_TARGET_DIR:-$ROOT/target}/release" "$@"
