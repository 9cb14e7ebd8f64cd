#!/bin/sh
# Writes the man pages, generated from the clap definitions, into packaging/man/ (gzipped, as
# Debian installs them): coopnocd.8, coopnoc.1 and one coopnoc-SUBCOMMAND.1 per subcommand.
set -eu
cd "$(dirname "$0")/.."
out=packaging/man
rm -rf "$out"
mkdir -p "$out"
cargo run --quiet --locked -p coopnocd --example gen_man_coopnocd -- "$out" >/dev/null
cargo run --quiet --locked -p coopnoc -- generate-man "$out"
gzip -9n "$out"/*.1 "$out"/*.8
ls "$out"
