#!/usr/bin/env bash
# Measures the cold start of functions: from the start of a release binary to the first
# response of one of its routes, served through cargo-lambda's Lambda Runtime API emulator,
# with its secrets read from a Secrets Manager emulator (moto) and its first database
# connection included; the warm latency of the same route for comparison; and the peak
# memory (VmHWM) of one process after it has served LOAD_REQUESTS requests back to back.
#
#   scripts/cold-start.sh [FUNCTION] [METHOD] [ROUTE] [JSON_BODY]
#   (default: auth GET /users/me)
#   scripts/cold-start.sh FUNCTION:METHOD:ROUTE ...
#   (several functions in one run, e.g. auth:GET:/users/me hello:GET:/)
#
# It needs the release binaries built first (x86-64, the host's own target):
#   SQLX_OFFLINE=true cargo build --release -p auth -p migrate
# and .venv (make tools) and a PostgreSQL server at $PG_SERVER.
#
# Each of RUNS samples (default 10) starts a new process while the request is already
# waiting at the emulator; one unmeasured sample comes first. With several functions the
# samples take turns (one of each function per round), so drift of a shared machine falls
# on all of them alike. The request carries an access token of a user it creates, so routes
# that need a signed-in user answer too. Prints one summary line per function on stdout;
# per-run figures go to stderr, logs to target/cold-start/.
#
# Environment (all optional):
#   RUNS                     samples to take (default 10)
#   LOAD_REQUESTS            requests for the peak memory figure (default 0: not measured)
#   EXPECT_STATUS            status the route must answer (default 200)
#   PG_SERVER                PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
#   COLD_START_DB            scratch database, dropped and re-created (default cinema_coldstart)
#   COLD_START_SEED          SQL file applied to it after the migrations (default: none)
#   COLD_START_JSON          file to write the figures to, one JSON object per function
#   COLD_START_MOTO_PORT     port of moto (default 5015)
#   COLD_START_RUNTIME_PORT  port of the Runtime API emulator (default 9300)
#   BINARY_DIR               where the binaries are (default $CARGO_TARGET_DIR/release)
#   BCRYPT_COST, RUST_LOG, AWS_LAMBDA_LOG_LEVEL are handed on to the function when set.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$HOME/.cargo/bin:$PATH"

pg_server=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
db=${COLD_START_DB:-cinema_coldstart}
log_dir=target/cold-start
binary_dir=${BINARY_DIR:-${CARGO_TARGET_DIR:-target}/release}
binary_dir=$(cd "$binary_dir" 2>/dev/null && pwd || echo "$binary_dir")

# The plan: one "function method route body" entry per function, as JSON.
specs=()
if [[ "${1:-}" == *:* ]]; then
  specs=("$@")
else
  specs=("${1:-auth}:${2:-GET}:${3:-/users/me}:${4:-}")
fi
plan=$(python3 -c '
import json, sys
plan = []
for spec in sys.argv[2:]:
    function, method, route, *body = spec.split(":", 3)
    plan.append({"function": function, "method": method, "route": route,
                 "body": body[0] if body else "", "binary": f"{sys.argv[1]}/{function}"})
print(json.dumps(plan))' "$binary_dir" "${specs[@]}")

for spec in "${specs[@]}" migrate; do
  binary=${spec%%:*}
  if [ ! -x "$binary_dir/$binary" ]; then
    echo "$binary_dir/$binary is missing: build it first with" >&2
    echo "  SQLX_OFFLINE=true cargo build --release -p $binary -p migrate" >&2
    exit 1
  fi
done
[ -x .venv/bin/python ] && command -v cargo-lambda >/dev/null && command -v moto_server >/dev/null ||
  { echo ".venv with cargo-lambda, moto and boto3 is missing: run make tools" >&2; exit 1; }

mkdir -p "$log_dir"
rm -f "$log_dir"/*.log

# A fresh scratch database with the current schema (migrate's local mode: DATABASE_URL,
# no ARNs), and one user whose token the requests carry.
psql "$pg_server/postgres" -qc "drop database if exists \"$db\"" -c "create database \"$db\"" >/dev/null
DATABASE_URL="$pg_server/$db" "$binary_dir/migrate" > "$log_dir/migrate.log" 2>&1
[ -z "${COLD_START_SEED:-}" ] || psql "$pg_server/$db" -qf "$COLD_START_SEED" >/dev/null
user_id=$(psql "$pg_server/$db" -Atqc \
  "insert into users (username, password_hash, full_name)
   values ('coldstart', 'not-a-usable-hash', 'Cold Start') returning id")

# The database secret in the RDS format, pointing at the same server (user[:password]@host:port;
# with trust authentication any password does).
hostport=${pg_server##*@}
credentials=${pg_server#*://}
credentials=${credentials%@*}
db_user=${credentials%%:*}
db_password=x
[ "$credentials" = "$db_user" ] || db_password=${credentials#*:}
db_secret=$(printf '{"username":"%s","password":"%s","host":"%s","port":%s,"dbname":"%s"}' \
  "$db_user" "$db_password" "${hostport%:*}" "${hostport##*:}" "$db")

CS_PLAN=$plan CS_LOAD_REQUESTS=${LOAD_REQUESTS:-0} CS_JSON=${COLD_START_JSON:-} \
CS_EXPECT_STATUS=${EXPECT_STATUS:-200} CS_RUNS=${RUNS:-10} CS_USER_ID=$user_id \
CS_DB_SECRET=$db_secret CS_MOTO_PORT=${COLD_START_MOTO_PORT:-5015} \
CS_RUNTIME_PORT=${COLD_START_RUNTIME_PORT:-9300} \
CS_LOG_DIR="$PWD/$log_dir" \
  exec python -m scripts.cold_start
