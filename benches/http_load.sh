#!/usr/bin/env bash
# HTTP load scenario, first part: the demo server (release build, axum or
# actix, SQLite) under wrk on this machine, loopback only, bounded in time.
#
#   bash benches/http_load.sh                # axum, 10 s per line
#   FRAMEWORK=actix DURATION=5 bash benches/http_load.sh
#
# Prints one line per scenario: requests/s, p50 and p99 latency. wrk comes
# from Debian's packages (installed here if missing). Login throttling is
# off, as it would refuse a benchmark's repeated logins. Not yet here (see
# BENCHMARKS.md): the hand-written axum baseline, a `hello` route, refresh
# along rotating chains, PostgreSQL + Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
FRAMEWORK=${FRAMEWORK:-axum}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --quiet --release --example demo_server
BIN=target/release/examples/demo_server

DIR=$(mktemp -d)
export AUTH_DATABASE_URL="sqlite://$DIR/bench.db" AUTH_LOGIN_THROTTLE=off \
  AUTH_BIND="127.0.0.1:$PORT" AUTH_FRAMEWORK="$FRAMEWORK" RUST_LOG=warn
PASSWORD='Bench-pass-123!'
"$BIN" create-superuser --username bench --email bench@example.com --password "$PASSWORD" >/dev/null
"$BIN" --quiet >"$DIR/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" >/dev/null && break
  sleep 0.1
done

login_body="{\"username\": \"bench\", \"password\": \"$PASSWORD\"}"
post() { curl -sf -X POST "$BASE$1" -H 'Content-Type: application/json' -d "$2"; }
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }
JWT=$(post /api/auth/jwt/create "$login_body" | field access)
KNOX=$(post /api/auth/token/login "$login_body" | field token)
STATIC=$(post /api/auth/static-token "$login_body" | field token)

cat >"$DIR/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$login_body'
EOF

run() { # name, wrk arguments...
  local name=$1
  shift
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" | awk -v name="$name" '
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 }
    $1 == "99%" { p99 = $2 }
    /Non-2xx/ { errors = $NF }
    END { printf "%-22s %10s req/s   p50 %-9s p99 %-9s%s\n", name, rps, p50, p99, (errors ? "  non-2xx: " errors : "") }'
}

echo "framework $FRAMEWORK, SQLite, $CONNECTIONS connections, ${DURATION}s per line, $(nproc) cores"
run "GET /healthz" "$BASE/healthz"
run "GET /me (JWT)" -H "Authorization: Bearer $JWT" "$BASE/api/auth/me"
run "GET /me (Knox)" -H "Authorization: Token $KNOX" "$BASE/api/auth/me"
run "GET /me (static)" -H "Authorization: Token $STATIC" "$BASE/api/auth/me"
run "POST jwt/create" -s "$DIR/login.lua" "$BASE/api/auth/jwt/create"
