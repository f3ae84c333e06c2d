# Shared by the benchmark scripts (sourced, not run): where binaries are, the database
# server, where results go, and small helpers.
#
# Environment: PROFILE (release; debug for the smoke run), CARGO_TARGET_DIR, PG_SERVER,
# BENCH_OUT (target/bench: logs and JSON results), BENCH_NO_BUILD=1 (binaries are built).

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.venv/bin:$HOME/.cargo/bin:$PATH" SQLX_OFFLINE=true

profile=${PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
bin_dir=$target_dir/$profile
pg_server=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
out_dir=${BENCH_OUT:-$PWD/target/bench}
mkdir -p "$out_dir"
# The API functions, from the table of functions (functions.json).
mapfile -t api_functions < <(python3 -c 'import json; print(*(f["name"] for f in json.load(open("functions.json")) if f["kind"] == "api"), sep="\n")')

# Every x86-64 binary the benchmarks run, built in one cargo invocation and as `make dev` and the
# watch router build them (features resolved over the whole workspace), so that every binary
# shares one build of the dependencies and a debug build is the one make test already made.
build_host_binaries() {
  [ "${BENCH_NO_BUILD:-}" = 1 ] && return
  local flag=()
  [ "$profile" = release ] && flag=(--release)
  cargo build "${flag[@]}" --quiet --workspace --bins
}

# Drops and re-creates database $1 with the current schema.
fresh_database() {
  psql "$pg_server/postgres" -qc "drop database if exists \"$1\"" -c "create database \"$1\"" >/dev/null
  DATABASE_URL="$pg_server/$1" "$bin_dir/migrate" >"$out_dir/migrate-$1.log" 2>&1
}

# Waits until something answers HTTP at $1 (a base URL).
wait_http() {
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$1/" && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

# Peak resident set size (VmHWM) of process $1, in KiB.
peak_rss_kib() {
  awk '/^VmHWM:/ {print $2}' "/proc/$1/status"
}

# Runs wrk with the given arguments; prints the JSON line its script's done() writes.
# WRK_PIN=<cpu list> runs it under taskset.
wrk_json() {
  local output pin=()
  [ -n "${WRK_PIN:-}" ] && pin=(taskset -c "$WRK_PIN")
  output=$("${pin[@]}" wrk "$@")
  echo "$output" >>"$out_dir/wrk.log"
  echo "$output" | sed -n 's/^WRK_JSON //p'
}

# Registers $1 customers straight in database $2 (they never sign in) and writes their ids and
# access tokens, one "id token" line each, to $out_dir/customers.txt, for booking.lua. Bookings
# are spread over many customers as a cinema's are: one customer may hold only a few seats
# unpaid (HOLD_LIMIT_SEATS).
bench_customers() {
  psql "$pg_server/$2" -qAt -c "insert into users (username, password_hash, full_name)
      select 'customer' || g, 'none', 'Bench Customer' from generate_series(1, $1) g returning id" |
    JWT_SECRET=$JWT_SECRET python3 -c '
import os, sys
from tests.support.tokens import mint_token
for line in sys.stdin:
    if line.strip():
        print(line.strip(), mint_token(os.environ["JWT_SECRET"], int(line)))' >"$out_dir/customers.txt"
}
