#!/usr/bin/env bash
# The crate as `cargo install rpcsh` would get it: `cargo package` lists, builds and verifies the
# packaged crate (offline, from the registry cache the build already filled). Prints its size.
# Usage: bench/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo package --allow-dirty --offline
ls -l target/package/rpcsh-*.crate
