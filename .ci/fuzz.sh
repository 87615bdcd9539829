#!/usr/bin/env bash
# Coverage-guided fuzzing (#21, "Adversarial tools in CI"): builds the
# cargo-fuzz targets of fuzz/ and runs each for a bounded time from its
# committed corpus (fuzz/corpus/<target>/). A crash, a failed assertion, a
# leak or a timeout fails the step and prints the input.
#
# Installs cargo-fuzz (pinned) with cargo when it is missing. The toolchain
# is stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# Environment: FUZZ_SECONDS per target (default 12, to keep CI under 30
# minutes), FUZZ_TARGETS (default
# every target, space-separated).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${FUZZ_SECONDS:-12}
TARGETS=${FUZZ_TARGETS:-jws jwt_claims token_shapes link_token authorization_header json_bodies http_request}

start=$SECONDS
if [[ "$(cargo fuzz --version 2>/dev/null)" != *"$CARGO_FUZZ_VERSION"* ]]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

export RUSTC_BOOTSTRAP=1
cd fuzz
echo "== building the fuzz targets"
# Release, AddressSanitizer; auth-core and auth-http with overflow checks and
# debug assertions (fuzz/Cargo.toml).
cargo fuzz build
built=$SECONDS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in $TARGETS; do
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s"
    mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
    # New inputs go to a scratch corpus; the committed one is only read.
    if ! cargo fuzz run "$target" "$work/corpus/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$target/" >"$work/$target.log" 2>&1; then
        status=1
        echo "!! $target failed:"
        # The panic or sanitizer report, and libFuzzer's summary.
        grep -m1 -A3 -E "panicked at|^==[0-9]+==ERROR" "$work/$target.log" || true
        grep -A6 '^SUMMARY' "$work/$target.log" || tail -20 "$work/$target.log"
        for artifact in "$work/artifacts/$target"/*; do
            [[ -f "$artifact" ]] || continue
            echo "!! input $(basename "$artifact") ($(wc -c <"$artifact") bytes), as escaped text:"
            od -An -c "$artifact" | head -40
            echo "!! as base64: $(base64 -w0 "$artifact")"
        done
    else
        grep -E '^stat::number_of_executed_units|^Done ' "$work/$target.log" | tr '\n' ' '
        echo
    fi
done

echo "== fuzzing finished in $((SECONDS - start))s (build $((built - start))s)"
exit "$status"
