#!/usr/bin/env bash
# schemathesis against the demo server's /api/openapi.json (#21, "Adversarial
# tools in CI"): on both frameworks, anonymous and with a token, checking that
# no request gets a 5xx and every answer matches the document (status code,
# content type, body schema). Three runs per framework: anonymous, with a
# user's token, and with the superuser's token on the users admin. Bounded: a fixed number of examples per
# operation and a time budget per run.
#
# Installs schemathesis (pinned) into .ci/venv with python3.11 on first use.
# Environment: SCHEMATHESIS_MAX_EXAMPLES (default 20), SCHEMATHESIS_MAX_TIME
# per run in seconds (default 30; the superuser's run gets half),
# SCHEMATHESIS_SEED (default 21).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-20}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-30}
ADMIN_MAX_TIME=$(( (MAX_TIME + 1) / 2 ))
SEED=${SCHEMATHESIS_SEED:-21}
VENV=.ci/venv

start=$SECONDS
if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3.11 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "== building the demo server"
# The same features as the test step, whose build this reuses.
cargo build --quiet --all-features --example demo_server
demo=target/debug/examples/demo_server

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Every rate limit off, so the runs test the contract, not the throttle.
# AUTH_LOGIN_THROTTLE is the older name of the login limits' setting.
export AUTH_THROTTLE=off AUTH_LOGIN_THROTTLE=off
# A token outlives the run.
export AUTH_ACCESS_TTL=3600
export RUST_LOG=warn

# Starts the demo server on a free port over a fresh SQLite database;
# sets $base.
start_server() {
    local framework=$1 db="$work/$1.db"
    export AUTH_DATABASE_URL="sqlite://$db" AUTH_FRAMEWORK=$framework
    "$demo" create-superuser --username st-admin --email st-admin@example.com \
        --password "$password" >/dev/null
    AUTH_BIND=127.0.0.1:0 "$demo" >"$work/$framework.out" 2>"$work/$framework.err" &
    server_pid=$!
    for _ in $(seq 1 100); do
        base=$(sed -n 's/.* listening on \(http[^ ]*\).*/\1/p' "$work/$framework.out")
        [[ -n "$base" ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the demo server ($framework) did not start:" >&2
    cat "$work/$framework.err" >&2
    exit 1
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=
}

# Logs user $1 in; prints the access token.
access_token() {
    curl --silent --show-error --fail -X POST "${base%/}/api/auth/jwt/create" \
        -H 'Content-Type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$password\"}" |
        python3.11 -c 'import json, sys; print(json.load(sys.stdin)["access"])'
}

# Creates an active user who is not staff, as the superuser.
create_user() {
    curl --silent --show-error --fail -o /dev/null -X POST "${base%/}/api/users" \
        -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
        -d "{\"username\": \"st-user\", \"email\": \"st-user@example.com\", \"password\": \"$password\", \"is_active\": true}"
}

run_schemathesis() {
    local label=$1
    shift
    echo "== schemathesis: $label"
    "$VENV/bin/schemathesis" run "${base%/}/api/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
        --workers 2 --request-timeout 10 --no-color \
        --generation-database none \
        "$@"
}

password="st-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
status=0
for framework in axum actix; do
    start_server "$framework"
    admin=$(access_token st-admin)
    create_user "$admin"
    run_schemathesis "$framework, anonymous" --max-time "$MAX_TIME" || status=1
    # A user's token on every route (the users admin answers 403).
    run_schemathesis "$framework, a user's token" --max-time "$MAX_TIME" \
        -H "Authorization: Bearer $(access_token st-user)" || status=1
    # The superuser's token on the users admin only, last: the run may
    # deactivate the superuser (it may do that to itself), after which
    # every request is a 401.
    run_schemathesis "$framework, the superuser's token, /api/users" \
        --max-time "$ADMIN_MAX_TIME" --include-path-regex '^/api/users' \
        -H "Authorization: Bearer $admin" || status=1
    stop_server
done

echo "== schemathesis finished in $((SECONDS - start))s"
exit "$status"
