#!/usr/bin/env bash
# Builds the .deb and the .rpm from a checkout:
#   target/debian/barbican-audit_<version>-1_amd64.deb
#   target/generate-rpm/barbican-audit-<version>-1.x86_64.rpm
# Needs cargo-deb and cargo-generate-rpm (cargo install cargo-deb
# cargo-generate-rpm --locked). Usage: packaging/build-packages.sh [deb|rpm]...
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ "${#kinds[@]}" -gt 0 ] || kinds=(deb rpm)

# Man pages, completions and the staged units, generated from the clap
# definitions and systemd/ (examples/gen-assets.rs says why an example).
cargo run --quiet --locked --example gen-assets -- target/assets
cargo build --release --locked
for k in "${kinds[@]}"; do
  case "$k" in
    deb) cargo deb --no-build --locked ;;
    rpm) cargo generate-rpm ;;
    *) echo "build-packages.sh: unknown package kind $k (deb or rpm)" >&2; exit 2 ;;
  esac
done
