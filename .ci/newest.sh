#!/usr/bin/env bash
# Builds the workspace once against the newest versions its manifests allow,
# as a new user's project resolves them (our Cargo.lock hides deprecations
# and breakage that arrive with newer compatible releases), with warnings
# denied. Runs in a scratch copy, so the committed Cargo.lock is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$scratch"
# A target directory of its own inside ours: kept between runs, never mixed
# with the locked build.
export CARGO_TARGET_DIR="$PWD/target/newest"
cd "$scratch"
cargo update
RUSTFLAGS="-D warnings" cargo check --workspace --all-targets --all-features
