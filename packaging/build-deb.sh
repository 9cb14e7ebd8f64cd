#!/bin/sh
# Builds the Debian package: target/debian/coopnoc_VERSION-1_ARCH.deb (both binaries, the
# systemd unit, sysusers/tmpfiles, the example config as /etc/coopnoc/coopnoc.toml, the man
# pages). Needs a cargo-deb that reads edition 2024 manifests: `cargo install cargo-deb`.
# (Checked with cargo-deb 2.0.0 on a copy set to edition 2021: the package installs, creates
# the user and directories, and `dpkg -P` removes it.)
# Extra arguments go to cargo-deb (e.g. --output DIR).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f config/example.toml ]; then
    echo "build-deb: config/example.toml is missing (it becomes /etc/coopnoc/coopnoc.toml)" >&2
    exit 1
fi
sh packaging/gen-man.sh
cargo build --release --locked -p coopnocd -p coopnoc
# --no-build: cargo-deb would build only the coopnocd package, and the CLI comes from coopnoc.
cargo deb -p coopnocd --no-build "$@"
