#!/usr/bin/env bash
# HTTP load scenario: the bench server (examples/bench_server.rs: the demo
# server plus GET /hello and the hand-written baseline GET /baseline/me) in
# a release build under wrk, on this machine, loopback only, every run
# bounded in time. For each backend:
#
#   GET /hello                       the framework alone
#   GET /baseline/me                 axum + jsonwebtoken + one sqlx query
#   GET /api/auth/me                 JWT, Knox and static token; cache off,
#                                    then again with AUTH_CACHE_TTL=1; on
#                                    PostgreSQL + Redis also JWT with
#                                    AUTH_REDIS_TRACKING=0 (every revocation
#                                    check read from Redis) beside the
#                                    baseline
#   POST /api/auth/jwt/create        32 connections, then 1 (one login at a
#                                    time: 1/(hash + the rest of a login))
#   POST /api/auth/jwt/refresh       along rotating chains (refresh.lua
#                                    below): any replay shows as non-2xx
#   login storm                      /me (JWT, 8 connections) idle, then
#                                    while 32 clients hammer jwt/create
#                                    (on an account of their own);
#                                    cache off and on; the probe both
#                                    flat out and paced (PROBE_DELAY_MS
#                                    between a connection's requests), and
#                                    flat out beside one busy loop per core
#                                    and paced beside one per hashing thread
#                                    (cores less the reserve), at the
#                                    hashers' priority (nice 19): what
#                                    any background work costs it; and
#                                    paced beside as many Argon2 loops
#                                    (bench_server hash-loop, nice 19):
#                                    what hashing itself costs it. The
#                                    paced line is the one with a target.
#   OAuth2 provider                  POST /api/o/token (client_credentials,
#                                    client_secret_basic), GET /api/auth/me
#                                    with an OAuth2 access token (profile
#                                    scope; cache off, then on),
#                                    POST /api/o/introspect;
#                                    OAUTH_ONLY=1 runs these lines alone
#
#   bash benches/http_load.sh                          # both backends, axum
#   DURATION=5 BACKENDS=sqlite bash benches/http_load.sh
#   OAUTH_ONLY=1 DURATION=5 bash benches/http_load.sh  # the OAuth2 lines only
#   RUNS=3 bash benches/http_load.sh                   # median of 3 per GET or probe line
#   FRAMEWORK=actix bash benches/http_load.sh          # baseline on PORT+1
#
# The GET lines run in rounds (hello, the baseline, /me JWT, Knox, static;
# then hello and the cached lines after the restart), each line once a
# round, so that a machine whose speed drifts over minutes weighs on the
# lines compared alike; the probe lines run their runs in a row.
#
# Every run also reads how much CPU time the host took from this virtual
# machine meanwhile (steal, from /proc/stat): a virtual CPU taken away
# stalls whatever runs on it for milliseconds, whatever the server does.
# With RUNS > 1 a run with more than STEAL_MAX% (default 5) steal does
# not count and another is made (at most 2 x RUNS runs per line); the
# median is taken over the counted runs. Every run is printed, with its
# steal where it is over the limit, and the summary gives the steal of the
# lines it compares. During the login storm lines each probe run has a
# storm of its own, started a second before it.
#
# Backends: `sqlite` (a file in a temporary directory) and `postgres_redis`
# (the database auth_bench on PG_URL, dropped and created afresh, and Redis
# at REDIS_URL under a random key prefix, deleted at the end). Login
# throttling is off (it would refuse a benchmark's repeated logins). wrk
# comes from Debian's packages, installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}                  # seconds per line
CONNECTIONS=${CONNECTIONS:-32}            # wrk -c of the main lines (wrk -t2)
RUNS=${RUNS:-1}                           # runs of each GET and probe line: the median counts
FRAMEWORK=${FRAMEWORK:-axum}              # axum or actix
BACKENDS=${BACKENDS:-sqlite postgres_redis}
PORT=${PORT:-18080}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
STORM_CLIENTS=${STORM_CLIENTS:-32}        # connections hammering jwt/create
PROBE_CONNECTIONS=${PROBE_CONNECTIONS:-8} # /me connections during the storm
PROBE_DELAY_MS=${PROBE_DELAY_MS:-4}       # the paced probe: pause per connection
CACHE_TTL=${CACHE_TTL:-1}                 # the staleness budget, seconds
STORM_USER=${STORM_USER:-storm}           # the storm's account; bench = the probe's own
STEAL_MAX=${STEAL_MAX:-5}                 # % of CPU time the host may take from a kept run

BASE="http://127.0.0.1:$PORT"
if [ "$FRAMEWORK" = actix ]; then
  BASELINE="http://127.0.0.1:$((PORT + 1))"
else
  BASELINE=$BASE
fi
CORES=$(nproc)
# Hashing threads that run while requests are served (the demo's reserve
# leaves one core out; at least one thread always hashes).
HASHERS=$((CORES - ${AUTH_HASHING_RESERVE:-1}))
if [ "$HASHERS" -lt 1 ]; then HASHERS=1; fi

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --quiet --release --example bench_server
BIN=$PWD/target/release/examples/bench_server

DIR=$(mktemp -d)
RESULTS=$DIR/results
: >"$RESULTS"
SERVER_PID=
STORM_PID=
SPIN_PIDS=()
REDIS_PREFIX=
PG_DB=auth_bench

export AUTH_SECRET_KEY AUTH_OIDC_KEY
AUTH_SECRET_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
# A fixed ID-token key: without one, a server on PostgreSQL generates one
# into the working directory.
AUTH_OIDC_KEY=$PWD/auth-core/tests/keys/ed25519_private.pem
# The password grant only gives the OAuth2 lines a user's token.
export AUTH_LOGIN_THROTTLE=off AUTH_ACCESS_TTL=3600 AUTH_BIND="127.0.0.1:$PORT" \
  AUTH_FRAMEWORK="$FRAMEWORK" RUST_LOG=warn AUTH_OAUTH_PASSWORD_GRANT=true
unset AUTH_CACHE_TTL AUTH_REDIS_URL AUTH_REDIS_PREFIX

psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -U postgres -qAt -v ON_ERROR_STOP=1 "$@"; }
redis_cli() { redis-cli -u "$REDIS_URL" "$@"; }

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}

drop_redis_keys() {
  if [ -n "$REDIS_PREFIX" ]; then
    redis_cli --scan --pattern "$REDIS_PREFIX*" | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null
    REDIS_PREFIX=
  fi
}

stop_spinners() {
  if [ "${#SPIN_PIDS[@]}" -gt 0 ]; then
    kill "${SPIN_PIDS[@]}" 2>/dev/null || true
    wait "${SPIN_PIDS[@]}" 2>/dev/null || true
    SPIN_PIDS=()
  fi
}

cleanup() {
  if [ -n "$STORM_PID" ]; then kill "$STORM_PID" 2>/dev/null || true; fi
  stop_spinners
  stop_server
  drop_redis_keys || true
  if [[ " $BACKENDS " == *" postgres_redis "* ]]; then
    psql_admin -c "DROP DATABASE IF EXISTS $PG_DB" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# oauth_lines: the OAuth2 provider's lines. An application with the
# client_credentials and password grants (create-application), a user's
# access token with the profile scope (password grant), then: token issue
# by client credentials, GET /me with the OAuth2 token, introspection.
oauth_lines() {
  "$BIN" create-application --name bench --grant-type client_credentials,password >"$DIR/app"
  local id secret basic me="$BASE/api/auth/me" c=$CONNECTIONS
  id=$(awk '/^client_id:/ {print $2}' "$DIR/app")
  secret=$(awk '/^client_secret:/ {print $2}' "$DIR/app")
  basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
  OAUTH_ACCESS=$(curl -sf -u "$id:$secret" -d grant_type=password -d username=bench \
    --data-urlencode 'password=Bench-pass-123!' -d scope=profile "$BASE/api/o/token" |
    field access_token)
  printf '%s\n' 'wrk.method = "POST"' \
    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"' \
    "wrk.headers[\"Authorization\"] = \"Basic $basic\"" \
    'wrk.body = "grant_type=client_credentials"' >"$DIR/oauth_cc.lua"
  printf '%s\n' 'wrk.method = "POST"' \
    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"' \
    "wrk.headers[\"Authorization\"] = \"Basic $basic\"" \
    "wrk.body = \"token=$OAUTH_ACCESS\"" >"$DIR/introspect.lua"
  warm_up -H "Authorization: Bearer $OAUTH_ACCESS" "$me"
  get_rounds "oauth_hello|GET /hello, in the same rounds||$BASE/hello" \
    "oauth_me|GET /me OAuth2 token, cache off|Bearer $OAUTH_ACCESS|$me"
  measure oauth_cc "POST o/token client_credentials" 2 "$c" -s "$DIR/oauth_cc.lua" "$BASE/api/o/token"
  measure oauth_introspect "POST o/introspect" 2 "$c" -s "$DIR/introspect.lua" "$BASE/api/o/introspect"
}

# oauth_cached_lines: GET /me with the OAuth2 token of oauth_lines, on a
# server started with the lookup cache on.
oauth_cached_lines() {
  warm_up -H "Authorization: Bearer $OAUTH_ACCESS" "$BASE/api/auth/me"
  get_rounds "oauth_hello_cached|GET /hello, in the same rounds||$BASE/hello" \
    "oauth_me_cached|GET /me OAuth2 token, cache ${CACHE_TTL}s|Bearer $OAUTH_ACCESS|$BASE/api/auth/me"
}

# oauth_summary: the OAuth2 lines against hello.
oauth_summary() {
  printf "  OAuth2: GET /me with an OAuth2 token %.0f req/s (%s of hello in its rounds);\n" \
    "$(get oauth_me rps)" "$(calc "$(get oauth_me rps) / $(get oauth_hello rps)")"
  printf "          cache %ss: %.0f req/s (%s of hello in its rounds);\n" "$CACHE_TTL" \
    "$(get oauth_me_cached rps)" "$(calc "$(get oauth_me_cached rps) / $(get oauth_hello_cached rps)")"
  printf "          client-credentials tokens %.0f/s (p99 %.2f ms), introspection %.0f/s (p99 %.2f ms), non-2xx %s and %s\n" \
    "$(get oauth_cc rps)" "$(get oauth_cc p99)" "$(get oauth_introspect rps)" \
    "$(get oauth_introspect p99)" "$(get oauth_cc bad)" "$(get oauth_introspect bad)"
}

# Starts the server with the extra environment given (NAME=VALUE ...) and
# waits until it answers.
start_server() {
  env "$@" "$BIN" --quiet >>"$DIR/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if curl -sf "$BASE/hello" >/dev/null && [ "$(curl -s -o /dev/null -H 'Authorization: Bearer x' \
      -w '%{http_code}' "$BASELINE/baseline/me")" = 401 ]; then
      return
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the bench server did not start:" >&2
  cat "$DIR/server.log" >&2
  exit 1
}

# warm_up URL-AND-HEADERS...: a short untimed wrk run, so pools, caches and
# the page cache are as warm as the figures after them assume.
warm_up() {
  wrk -t2 -c"$CONNECTIONS" -d2s --timeout 10s "$@" >/dev/null
}

LOGIN_BODY='{"username": "bench", "password": "Bench-pass-123!"}'
post() { curl -sf -X POST "$BASE$1" -H 'Content-Type: application/json' -d "$2"; }
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }

cat >"$DIR/paced.lua" <<EOF
function delay() return $PROBE_DELAY_MS end
EOF

cat >"$DIR/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$LOGIN_BODY'
EOF

# The storm logs in to an account of its own: each login writes its
# account's last_login, and a write about a user voids what the lookup
# cache holds for that user, so a storm on the probe's own account
# (STORM_USER=bench) also measures the cache refilled 40 to 50 times a
# second, not only the hashing beside the probe.
sed "s/\"bench\"/\"$STORM_USER\"/" "$DIR/login.lua" >"$DIR/storm_login.lua"

# Refresh along rotating chains: each wrk thread takes its share of the
# refresh tokens in the file (arguments after `--`: file, thread count);
# each request spends the oldest token of its thread's queue, and each
# answer's new refresh token joins the queue. wrk reads a connection's
# answer before sending its next request, so no token is ever sent twice:
# a replay (which revokes the chain) would show up as non-2xx answers.
cat >"$DIR/refresh.lua" <<'EOF'
local threads, created = {}, 0

function setup(thread)
  thread:set("index", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local file, count = args[1], tonumber(args[2])
  queue, first, last, starved = {}, 1, 0, 0
  local line = 0
  for token in io.lines(file) do
    if line % count == index then
      last = last + 1
      queue[last] = token
    end
    line = line + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local token = "none"
  if first <= last then
    token = queue[first]
    queue[first] = nil
    first = first + 1
  else
    starved = starved + 1
  end
  return wrk.format(nil, nil, nil, '{"refresh": "' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refresh"%s*:%s*"([^"]+)"')
  if token then
    last = last + 1
    queue[last] = token
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("starved")
  end
  io.write("requests sent without a token (queue empty): " .. total .. "\n")
end
EOF

# An awk function: one of wrk's durations (850us, 1.20ms, 2.5s, 1m) in ms.
AWK_MS='
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }'

# Reads wrk's output: requests/s, p50 and p99 (ms), non-2xx answers and
# socket errors, space-separated.
parse_wrk() {
  awk "$AWK_MS"'
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    /Socket errors/ { gsub(",", ""); errors = $4 + $6 + $8 + $10 }
    END { printf "%s %s %s %d %d\n", rps + 0, p50 + 0, p99 + 0, bad, errors }'
}

# cpu_ticks: all CPU time and the part of it the host took from this VM
# (steal), in ticks since boot.
cpu_ticks() { awk '$1 == "cpu" { for (i = 2; i <= 9; i++) all += $i; print all, $9 }' /proc/stat; }

# steal_since ALL STEAL: the host's share (%) of the CPU time since that
# cpu_ticks reading. A virtual CPU the host takes away stalls whatever runs
# on it, so a run with much steal measures the host, not the server.
steal_since() {
  local all steal
  read -r all steal < <(cpu_ticks)
  awk -v a="$((all - $1))" -v s="$((steal - $2))" 'BEGIN { printf "%.1f", (a > 0) ? 100 * s / a : 0 }'
}

# over_steal PERCENT: whether that much steal is over STEAL_MAX.
over_steal() { awk -v s="$1" -v m="$STEAL_MAX" 'BEGIN { exit !(s > m) }'; }

# wrk_max: the longest request (ms) of wrk's output. Unlike wrk's
# percentiles it is not corrected for coordinated omission (wrk 4 adds
# made-up samples below every request slower than twice the mean interval,
# so a few long stalls fill the top percent of a fast run).
wrk_max() {
  awk "$AWK_MS"'
    $1 == "Latency" && NF >= 4 { max = ms($4) }
    END { printf "%s\n", max + 0 }'
}

# run_line KEY THREADS CONNECTIONS WRK-ARGUMENTS...: a wrk run of DURATION
# seconds, added to KEY's runs as "rps p50 p99 non-2xx errors steal max". With
# TIMES > 1, a run in which the host took more than STEAL_MAX% of the CPU
# is made again at once; no run is made once KEY has 2 x TIMES runs. With
# EACH_RUN=NAME, `NAME start` runs before each run and `NAME end` after it.
run_line() {
  local key=$1 threads=$2 connections=$3 times=${TIMES:-1} out steal before
  shift 3
  touch "$DIR/runs.$key"
  while [ "$(wc -l <"$DIR/runs.$key")" -lt $((2 * times)) ]; do
    if [ -n "${EACH_RUN:-}" ]; then "$EACH_RUN" start; fi
    before=$(cpu_ticks)
    out=$(wrk -t"$threads" -c"$connections" -d"${DURATION}s" --timeout 10s --latency "$@")
    # shellcheck disable=SC2086 # two numbers
    steal=$(steal_since $before)
    if [ -n "${EACH_RUN:-}" ]; then "$EACH_RUN" end; fi
    echo "$out" >>"$DIR/wrk.log"
    echo "$(parse_wrk <<<"$out") $steal $(wrk_max <<<"$out")" >>"$DIR/runs.$key"
    grep "queue empty" <<<"$out" | sed 's/^/    /' >>"$DIR/notes.$key" || true
    if [ "$times" -eq 1 ] || ! over_steal "$steal"; then
      return
    fi
  done
}

# report_line KEY LABEL CONNECTIONS: keeps KEY's run of median req/s (or of
# median p99 with MEDIAN_OF=p99; of two, the worse) for the summary, among
# its runs with at most STEAL_MAX% steal (among all of them if none), and
# prints it with every run's figure.
report_line() {
  local key=$1 label=$2 connections=$3 column=1 runs kept count middle fields
  local rps p50 p99 bad errors steal max note=
  runs=$(cat "$DIR/runs.$key")
  rm -f "$DIR/runs.$key"
  kept=$(awk -v m="$STEAL_MAX" '$6 <= m' <<<"$runs")
  [ -n "$kept" ] || kept=$runs
  count=$(wc -l <<<"$kept")
  middle=$(((count + 1) / 2))
  if [ "${MEDIAN_OF:-rps}" = p99 ]; then
    column=3
    middle=$((count / 2 + 1))
  fi
  fields=$(sort -g -k"$column,$column" <<<"$kept" | sed -n "${middle}p")
  echo "$BACKEND $key $fields" >>"$RESULTS"
  read -r rps p50 p99 bad errors steal max <<<"$fields"
  if [ "$errors" -gt 0 ]; then note="  socket errors $errors"; fi
  if [ "$(wc -l <<<"$runs")" -gt 1 ]; then
    note="$note  (median of $count: $(awk -v c="$column" -v m="$STEAL_MAX" '{
        printf "%s%.*f%s", sep, (c == 1) ? 0 : 2, $c, ($6 > m) ? " [steal " $6 "%]" : ""; sep = " / " }' <<<"$runs"))"
  elif over_steal "$steal"; then
    note="$note  [steal $steal%]"
  fi
  printf "%-44s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  non-2xx %d%s\n" \
    "$label (c$connections)" "$rps" "$p50" "$p99" "$max" "$bad" "$note"
  cat "$DIR/notes.$key" 2>/dev/null || true
  rm -f "$DIR/notes.$key"
}

# measure KEY LABEL THREADS CONNECTIONS WRK-ARGUMENTS...: TIMES runs
# (default 1) of one line in a row, then its figures.
measure() {
  local key=$1 label=$2 threads=$3 connections=$4
  shift 4
  for _ in $(seq "${TIMES:-1}"); do
    run_line "$key" "$threads" "$connections" "$@"
  done
  report_line "$key" "$label" "$connections"
}

# get_rounds LINE...: GET lines, each "KEY|LABEL|AUTHORIZATION|URL" (no
# Authorization header where that field is empty), CONNECTIONS connections,
# in RUNS rounds of each line once, so that a machine whose speed drifts
# over minutes weighs on the lines compared alike; then their figures.
get_rounds() {
  local line key label auth url
  for _ in $(seq "$RUNS"); do
    for line in "$@"; do
      IFS='|' read -r key label auth url <<<"$line"
      TIMES=$RUNS run_line "$key" 2 "$CONNECTIONS" ${auth:+-H "Authorization: $auth"} "$url"
    done
  done
  for line in "$@"; do
    IFS='|' read -r key label _ <<<"$line"
    report_line "$key" "$label" "$CONNECTIONS"
  done
}

# get KEY FIELD: a figure of this backend's run (rps, p50, p99, bad, steal).
get() {
  awk -v b="$BACKEND" -v k="$1" -v f="$2" '
    $1 == b && $2 == k {
      i = (f == "rps") ? 3 : (f == "p50") ? 4 : (f == "p99") ? 5 : (f == "bad") ? 6 : 8; print $i }' "$RESULTS"
}
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# storm start|end: STORM_CLIENTS connections hammering jwt/create around
# one probe run (from a second before it to a second after); each storm's
# figures are added to storm_runs.
storm() {
  if [ "$1" = start ]; then
    wrk -t1 -c"$STORM_CLIENTS" -d"$((DURATION + 2))s" --timeout 10s --latency \
      -s "$DIR/storm_login.lua" "$BASE/api/auth/jwt/create" >"$DIR/storm.out" &
    STORM_PID=$!
    sleep 1
  else
    wait "$STORM_PID" || true
    STORM_PID=
    parse_wrk <"$DIR/storm.out" >>"$DIR/storm_runs"
  fi
}

# storm_figures KEY: keeps the storm of median logins/s under KEY.
storm_figures() {
  local fields rps p99 bad
  fields=$(sort -g -k1,1 "$DIR/storm_runs" | sed -n "$((($(wc -l <"$DIR/storm_runs") + 1) / 2))p")
  rm -f "$DIR/storm_runs"
  echo "$BACKEND $1 $fields" >>"$RESULTS"
  read -r rps _ p99 bad _ <<<"$fields"
  printf "%-44s %9.1f req/s  (the storm: %d connections, p99 %.0f ms, non-2xx %d)\n" \
    "  POST jwt/create meanwhile" "$rps" "$STORM_CLIENTS" "$p99" "$bad"
}

# probe_idle_then_storm KEY LABEL WRK-ARGUMENTS...: the /me probe
# (PROBE_CONNECTIONS connections, one wrk thread) idle, then during a login
# storm; keeps KEY_idle, KEY_storm and the storms' own figures, KEY_logins.
probe_idle_then_storm() {
  local key=$1 label=$2
  shift 2
  measure "${key}_idle" "$label, idle" 1 "$PROBE_CONNECTIONS" "$@"
  EACH_RUN=storm measure "${key}_storm" "$label, login storm" 1 "$PROBE_CONNECTIONS" "$@"
  storm_figures "${key}_logins"
}

# The /me probe with a JWT, flat out (it keeps both cores busy by itself,
# so it measures how the cores are shared) and paced (PROBE_DELAY_MS
# between a connection's requests: the cores have room, so it measures
# whether hashing delays a request that arrives); then the paced probe's
# controls beside as many nice-19 busy loops, and as many nice-19 Argon2
# loops, as hashing threads run beside requests (cores less the hashing
# reserve).
login_storm() { # key, label
  local auth=(-H "Authorization: Bearer $JWT" "$BASE/api/auth/me")
  local TIMES=$RUNS MEDIAN_OF=p99
  probe_idle_then_storm "$1" "GET /me JWT $2" "${auth[@]}"
  probe_idle_then_storm "$1_paced" "GET /me JWT $2, paced" -s "$DIR/paced.lua" "${auth[@]}"
  control "$1_paced_spin" "$HASHERS" spin "GET /me JWT $2, paced" -s "$DIR/paced.lua" "${auth[@]}"
  control "$1_paced_hash" "$HASHERS" argon2 "GET /me JWT $2, paced" -s "$DIR/paced.lua" "${auth[@]}"
}

# control KEY LOOPS KIND LABEL WRK-ARGUMENTS...: the /me probe beside LOOPS
# processes at nice 19, the hashers' priority, and no login. KIND `spin`:
# busy loops (no memory, no locks: the least any background work at that
# priority can cost the probe); `argon2`: the bench server's hash-loop, the
# demo's Argon2id verification again and again (what hashing itself costs
# the probe, with no request behind it).
control() {
  local key=$1 loops=$2 kind=$3 label=$4 i TIMES=$RUNS MEDIAN_OF=p99
  shift 4
  for i in $(seq "$loops"); do
    if [ "$kind" = spin ]; then
      nice -n 19 sh -c 'while :; do :; done' &
    else
      nice -n 19 "$BIN" hash-loop &
    fi
    SPIN_PIDS+=($!)
  done
  sleep 1
  measure "$key" "$label, beside $loops nice-19 $kind loop(s)" 1 "$PROBE_CONNECTIONS" "$@"
  stop_spinners
}

run_backend() {
  BACKEND=$1
  case $BACKEND in
  sqlite)
    export AUTH_DATABASE_URL="sqlite://$DIR/bench.db"
    unset AUTH_REDIS_URL AUTH_REDIS_PREFIX
    rm -f "$DIR"/bench.db*
    ;;
  postgres_redis)
    psql_admin -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
    REDIS_PREFIX="auth-bench:$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n'):"
    export AUTH_DATABASE_URL="$PG_URL/$PG_DB" AUTH_REDIS_URL="$REDIS_URL" \
      AUTH_REDIS_PREFIX="$REDIS_PREFIX"
    ;;
  *)
    echo "unknown backend $BACKEND (sqlite or postgres_redis)" >&2
    exit 1
    ;;
  esac
  START_TICKS=$(cpu_ticks)
  echo
  echo "== $BACKEND, $FRAMEWORK, wrk -t2 -c$CONNECTIONS, ${DURATION}s per line, $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg), autogroup $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a) =="
  "$BIN" create-superuser --username bench --email bench@example.com \
    --password 'Bench-pass-123!' >/dev/null
  if [ "$STORM_USER" != bench ]; then
    "$BIN" create-superuser --username "$STORM_USER" --email "$STORM_USER@example.com" \
      --password 'Bench-pass-123!' >/dev/null
  fi

  start_server
  if [ "${OAUTH_ONLY:-0}" = 1 ]; then
    oauth_lines
    stop_server
    start_server AUTH_CACHE_TTL="$CACHE_TTL"
    oauth_cached_lines
    stop_server
    echo "-- $BACKEND summary"
    oauth_summary
    drop_redis_keys
    return
  fi
  JWT=$(post /api/auth/jwt/create "$LOGIN_BODY" | field access)
  KNOX=$(post /api/auth/token/login "$LOGIN_BODY" | field token)
  STATIC=$(post /api/auth/static-token "$LOGIN_BODY" | field token)
  local me="$BASE/api/auth/me" c=$CONNECTIONS
  warm_up "$BASE/hello"
  warm_up -H "Authorization: Bearer $JWT" "$BASELINE/baseline/me"
  warm_up -H "Authorization: Bearer $JWT" "$me"
  get_rounds "hello|GET /hello||$BASE/hello" \
    "baseline|GET /baseline/me (hand-written)|Bearer $JWT|$BASELINE/baseline/me" \
    "me_jwt|GET /me JWT, cache off|Bearer $JWT|$me" \
    "me_knox|GET /me Knox, cache off|Token $KNOX|$me" \
    "me_static|GET /me static, cache off|Token $STATIC|$me"
  measure login "POST jwt/create" 2 "$c" -s "$DIR/login.lua" "$BASE/api/auth/jwt/create"
  measure login_one "POST jwt/create, one at a time" 1 1 -s "$DIR/login.lua" "$BASE/api/auth/jwt/create"

  # Seed the refresh chains: twice as many as connections, from as many
  # logins, 8 at a time.
  local chains=$((2 * CONNECTIONS))
  seq "$chains" | xargs -P 8 -I{} curl -sf -X POST "$BASE/api/auth/jwt/create" \
    -H 'Content-Type: application/json' -d "$LOGIN_BODY" |
    grep -o '"refresh":"[^"]*"' | cut -d'"' -f4 >"$DIR/refresh_tokens"
  [ "$(wc -l <"$DIR/refresh_tokens")" -eq "$chains" ] || {
    echo "only $(wc -l <"$DIR/refresh_tokens") of $chains logins succeeded" >&2
    exit 1
  }
  measure refresh "POST jwt/refresh, $chains rotating chains" 2 "$c" \
    -s "$DIR/refresh.lua" "$BASE/api/auth/jwt/refresh" -- "$DIR/refresh_tokens" 2
  oauth_lines
  login_storm storm_off "cache off"
  control spin_off "$CORES" spin "GET /me JWT" -H "Authorization: Bearer $JWT" "$me"
  stop_server

  start_server AUTH_CACHE_TTL="$CACHE_TTL"
  warm_up -H "Authorization: Bearer $JWT" "$me"
  get_rounds "hello_cached|GET /hello, in the same rounds||$BASE/hello" \
    "me_jwt_cached|GET /me JWT, cache ${CACHE_TTL}s|Bearer $JWT|$me" \
    "me_knox_cached|GET /me Knox, cache ${CACHE_TTL}s|Token $KNOX|$me" \
    "me_static_cached|GET /me static, cache ${CACHE_TTL}s|Token $STATIC|$me"
  login_storm storm_on "cache ${CACHE_TTL}s"
  oauth_cached_lines
  stop_server

  if [ "$BACKEND" = postgres_redis ]; then
    # The demo tracks revocation reads in Redis (AUTH_REDIS_TRACKING): the
    # same lines with every revocation check read from Redis.
    start_server AUTH_REDIS_TRACKING=0
    warm_up -H "Authorization: Bearer $JWT" "$me"
    get_rounds "baseline_untracked|GET /baseline/me, in the same rounds|Bearer $JWT|$BASELINE/baseline/me" \
      "me_jwt_untracked|GET /me JWT, cache off, revocation reads untracked|Bearer $JWT|$me"
    stop_server
  fi

  local baseline one capacity
  baseline=$(get baseline rps)
  one=$(get login_one rps)
  capacity=$(calc "$CORES * $one" 1)
  echo "-- $BACKEND summary"
  printf "  /me JWT, cache off: %s of the baseline (target >= 1)\n" \
    "$(calc "$(get me_jwt rps) / $baseline")"
  if [ "$BACKEND" = postgres_redis ]; then
    printf "  /me JWT, cache off, revocation reads untracked: %s of the baseline in its rounds\n" \
      "$(calc "$(get me_jwt_untracked rps) / $(get baseline_untracked rps)")"
  fi
  for kind in jwt knox static; do
    printf "  /me %-6s cache %ss: %s of the baseline, %s of hello (target >= 0.5)\n" "$kind" \
      "$CACHE_TTL" "$(calc "$(get "me_${kind}_cached" rps) / $baseline")" \
      "$(calc "$(get "me_${kind}_cached" rps) / $(get hello_cached rps)")"
  done
  printf "  login: one at a time %.1f/s (p50 %.1f ms: one hash and the rest of a login);\n" \
    "$one" "$(get login_one p50)"
  printf "         capacity %s cores x %.1f/s = %s/s; c%s gives %.1f/s = %s%% of it (target >= 90%%)\n" \
    "$CORES" "$one" "$capacity" "$CONNECTIONS" "$(get login rps)" \
    "$(calc "100 * $(get login rps) / $capacity" 0)"
  printf "  refresh chains: %s non-2xx (target 0)\n" "$(get refresh bad)"
  oauth_summary
  for storm in off on; do
    printf "  login storm, cache %-3s: /me p99 idle %.2f ms, storm %.2f ms, ratio %s flat out (no target);\n" \
      "$storm" "$(get "storm_${storm}_idle" p99)" "$(get "storm_${storm}_storm" p99)" \
      "$(calc "$(get "storm_${storm}_storm" p99) / $(get "storm_${storm}_idle" p99)")"
    printf "                          paced (%.0f req/s): idle %.2f ms, storm %.2f ms, ratio %s (target <= 2),\n" \
      "$(get "storm_${storm}_paced_idle" rps)" "$(get "storm_${storm}_paced_idle" p99)" \
      "$(get "storm_${storm}_paced_storm" p99)" \
      "$(calc "$(get "storm_${storm}_paced_storm" p99) / $(get "storm_${storm}_paced_idle" p99)")"
    printf "                          logins meanwhile %.1f/s flat out, %.1f/s paced (%s%% of capacity)\n" \
      "$(get "storm_${storm}_logins" rps)" "$(get "storm_${storm}_paced_logins" rps)" \
      "$(calc "100 * $(get "storm_${storm}_paced_logins" rps) / $capacity" 0)"
    printf "                          controls, no logins: paced beside %s nice-19 busy loop(s) p99 %.2f ms, %s of paced idle;\n" \
      "$HASHERS" "$(get "storm_${storm}_paced_spin" p99)" \
      "$(calc "$(get "storm_${storm}_paced_spin" p99) / $(get "storm_${storm}_paced_idle" p99)")"
    printf "                          beside %s nice-19 Argon2 loop(s) p99 %.2f ms, %s of paced idle\n" \
      "$HASHERS" "$(get "storm_${storm}_paced_hash" p99)" \
      "$(calc "$(get "storm_${storm}_paced_hash" p99) / $(get "storm_${storm}_paced_idle" p99)")"
    printf "                          host steal in the kept runs: %s%% idle, %s%% storm flat out; %s%% idle, %s%% storm paced\n" \
      "$(get "storm_${storm}_idle" steal)" "$(get "storm_${storm}_storm" steal)" \
      "$(get "storm_${storm}_paced_idle" steal)" "$(get "storm_${storm}_paced_storm" steal)"
  done
  printf "  control: the flat-out probe beside %s nice-19 busy loops: p99 %.2f ms, %s of idle\n" \
    "$CORES" "$(get spin_off p99)" "$(calc "$(get spin_off p99) / $(get storm_off_idle p99)")"
  printf "  host steal over the whole backend run: %s%% of the CPU time\n" "$(steal_since $START_TICKS)"
  drop_redis_keys
}

for backend in $BACKENDS; do
  run_backend "$backend"
done
