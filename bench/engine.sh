#!/bin/sh
# Engine benchmark (not a test): walks the same 5 IF-MIB columns of a synthetic 10,000-ONU
# OLT (50,000 values) served by snmpsimd, with coopnoc's engine (daemon/examples/walk_bench.rs),
# net-snmp's snmpbulkwalk and prometheus-snmp-exporter, and prints values/s and client
# CPU-seconds per 100k values side by side.
#
#   apt-get install -y snmp snmpsim prometheus-snmp-exporter curl
#   bench/engine.sh [REPS]          # ~3 minutes on 2 cores; stops what it started
#
# The recording comes from gen_snmprec.py, the peers' generator (copied unchanged, see
# bench/README.md). snmpsimd (Python) bounds the wall time; compare pollers on CPU.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
REPS=${1:-5}
W=$(mktemp -d /tmp/coopnoc-bench.XXXXXX)
SIM_PORT=${SIM_PORT:-11661}
EXP_PORT=${EXP_PORT:-9119}

cleanup() {
  for p in exporter snmpsimd; do
    [ -f "$W/$p.pid" ] && kill "$(cat "$W/$p.pid")" 2>/dev/null || true
  done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

echo "building walk_bench (release)..." >&2
(cd "$ROOT" && cargo build --quiet --release -p coopnocd --example walk_bench)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/walk_bench

mkdir -p "$W/data" "$W/cache"
python3 "$HERE/gen_snmprec.py" 10000 > "$W/data/olt10k.snmprec"
chmod 755 "$W" "$W/data"; chmod 644 "$W/data/olt10k.snmprec"
AS_NOBODY=""
if [ "$(id -u)" = 0 ]; then
  chown nobody:nogroup "$W/cache"
  AS_NOBODY="--process-user=nobody --process-group=nogroup"
fi
# shellcheck disable=SC2086
snmpsimd --data-dir="$W/data" --cache-dir="$W/cache" --agent-udpv4-endpoint=127.0.0.1:$SIM_PORT \
  $AS_NOBODY --logging-method=null > "$W/snmpsimd.out" 2>&1 &
echo $! > "$W/snmpsimd.pid"
prometheus-snmp-exporter --config.file="$HERE/snmp.yml" --web.listen-address=127.0.0.1:$EXP_PORT \
  --log.level=warn > "$W/exporter.log" 2>&1 &
echo $! > "$W/exporter.pid"

# Wait until the agent answers (it indexes the recording first).
i=0
until MIBS= snmpget -v2c -c olt10k -t 0.5 -r 0 127.0.0.1:$SIM_PORT 1.3.6.1.2.1.1.1.0 >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 60 ] || { echo "snmpsimd did not start:" >&2; cat "$W/snmpsimd.out" >&2; exit 1; }
  sleep 0.5
done

python3 "$HERE/engine.py" "$BIN" 127.0.0.1:$SIM_PORT "$(cat "$W/exporter.pid")" $EXP_PORT "$REPS"
