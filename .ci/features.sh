#!/usr/bin/env bash
# The `auth` facade's features are additive and each builds alone: checks
# the facade with no features and with each one by itself (the workspace
# build turns them all on at once, which hides a feature that needs another
# to compile). Fails on an error or a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

features="axum actix http sqlite postgres mysql redis smtp smtp-tls bcrypt testkit"
for feature in "" $features; do
    echo "-- auth with ${feature:-no features}"
    out=$(cargo check --quiet -p auth --no-default-features ${feature:+--features "$feature"} 2>&1) || {
        echo "$out" >&2
        exit 1
    }
    if grep -q "^warning" <<<"$out"; then
        echo "$out" >&2
        echo "warnings with feature '${feature}'" >&2
        exit 1
    fi
done
