#!/usr/bin/env bash
# Server time per warm request, and reads while logins run.
#
# 1. Per request: the functions' real Routers (cinema-bench-serve) against the bare axum +
#    sqlx baseline running the same single statement (cinema-bench-bare), for
#    GET /films/{id}, GET /films (a page of 50 films), GET /screenings/{id}/seats (7 x 10)
#    and POST /reservations (one distinct seat per request), each at 1 and at 32
#    connections, with wrk. Router and baseline take turns (router, bare, bare, router;
#    ROUNDS times) so that drift on a shared machine falls on both alike; the median run of
#    each counts.
# 2. Reads while logins: GET /films/{id} alone, then while 4 clients sign in without pause
#    (bcrypt at BCRYPT_COST, default 12 as deployed); once with every process free to use
#    both cores, once with the auth server and its clients on one core and the films server
#    and its clients on the other (a model of separate Lambda instances).
#
#   bench/requests.sh        (needs: make tools; wrk; a PostgreSQL server)
# Environment: DURATION (2s per run), ROUNDS (3), POOL (8 connections per server), BCRYPT_COST (12),
# BENCH_SMOKE (one round, no warm-up), PROFILE, PG_SERVER, BENCH_OUT, BENCH_NO_BUILD
# (see bench/common.sh).
# Writes $BENCH_OUT/requests.json and $BENCH_OUT/logins.json.
set -euo pipefail
source "$(dirname "$0")/common.sh"

duration=${DURATION:-2s}
rounds=${ROUNDS:-3}
[ -z "${BENCH_SMOKE:-}" ] || rounds=1
pool=${POOL:-8}
bcrypt_cost=${BCRYPT_COST:-12}
db=cinema_bench_requests
db_url=$pg_server/$db
auth_port=7111 films_port=7112 screenings_port=7113 reservations_port=7114 bare_port=7120

build_host_binaries
fresh_database "$db"
psql "$db_url" -qf bench/seed.sql
# Seats for the bookings: a 100 x 100 hall with a screening for every booking run, each
# with contiguous ticket ids.
psql "$db_url" -qAt -v rounds="$rounds" >/dev/null <<'SQL'
insert into halls (name, kind, surcharge_percent, rows, seats_per_row) values ('Arena', 'vip', 52, 100, 100);
insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
select (select min(id) from films), h.id, now() + make_interval(days => 10 + d), now() + make_interval(days => 10 + d, mins => 100), 10
from halls h, generate_series(1, 8 * :rounds) d where h.name = 'Arena';
insert into tickets (screening_id, row_number, seat_number)
select s.id, r, n from screenings s join halls h on h.id = s.hall_id, generate_series(1, 100) r, generate_series(1, 100) n
where h.name = 'Arena' order by s.id, r, n;
SQL
film_id=$(psql "$db_url" -qAt -c 'select min(id) from films')
seat_screening=$(psql "$db_url" -qAt -c 'select min(id) from screenings where hall_id = 4')
mapfile -t arena < <(psql "$db_url" -qAt -F ' ' -c \
  "select min(t.id), max(t.id) from tickets t join screenings s on s.id = t.screening_id join halls h on h.id = s.hall_id
   where h.name = 'Arena' group by s.id order by s.id")

pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
# The bookings of a run come from 2,000 customers, many more than the hold limits would let
# hold unpaid (20 each): the limits are raised for the router and the baseline alike, so that
# every booking is a booking (the statement checks them all the same).
export DATABASE_URL=$db_url JWT_SECRET=benchmark-signing-key-0123456789-abcdef \
  DB_POOL_MAX_CONNECTIONS=$pool BCRYPT_COST=$bcrypt_cost \
  HOLD_LIMIT_SEATS=1000000 HOLD_LIMIT_PER_SCREENING=1000000
declare -A server_pid
for function in "${api_functions[@]}"; do
  port_var=${function}_port
  "$bin_dir/cinema-bench-serve" "$function" "127.0.0.1:${!port_var}" 2>>"$out_dir/serve.log" &
  pids+=($!) server_pid[$function]=$!
done
"$bin_dir/cinema-bench-bare" "127.0.0.1:$bare_port" 2>>"$out_dir/serve.log" &
pids+=($!) server_pid[bare]=$!
for port in $auth_port $films_port $screenings_port $reservations_port $bare_port; do
  wait_http "http://127.0.0.1:$port"
done

curl -sf "http://127.0.0.1:$auth_port/auth/register" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"Bench#Pass1","confirm_password":"Bench#Pass1","full_name":"Bench Mark"}' >/dev/null
token=$(curl -sf "http://127.0.0.1:$auth_port/auth/login" -d 'username=bench&password=Bench%23Pass1' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
user_id=$(psql "$db_url" -qAt -c "select id from users where username = 'bench'")
bench_customers 2000 "${db_url##*/}"
# The bare baseline books for the same user (it has no authentication to learn it from).
kill "${server_pid[bare]}"; wait "${server_pid[bare]}" 2>/dev/null || true
BENCH_USER_ID=$user_id "$bin_dir/cinema-bench-bare" "127.0.0.1:$bare_port" 2>>"$out_dir/serve.log" &
pids+=($!) server_pid[bare]=$!
wait_http "http://127.0.0.1:$bare_port"

declare -A route_port=([film]=$films_port [films]=$films_port [seats]=$screenings_port [booking]=$reservations_port)
declare -A route_path=([film]="/films/$film_id" [films]="/films?limit=50" [seats]="/screenings/$seat_screening/seats" [booking]="/reservations")
declare -A route_name=([film]="GET /films/{id}" [films]="GET /films (50 films)" [seats]="GET /screenings/{id}/seats (7 x 10)" [booking]="POST /reservations (1 seat)")

# Every answer must be a success, and the router's and the baseline's must match in size
# (the same rows, nearly the same JSON).
for route in film films seats; do
  real=$(curl -sf "http://127.0.0.1:${route_port[$route]}${route_path[$route]}" | wc -c)
  bare=$(curl -sf "http://127.0.0.1:$bare_port${route_path[$route]}" | wc -c)
  echo "  ${route_name[$route]}: router answers $real bytes, baseline $bare bytes" >&2
done

# run ROUTE SERVER CONNECTIONS SLOT: one wrk run; prints its JSON. Booking run number SLOT
# books the seats of screening number SLOT of the arena, which no other run books.
run() {
  local route=$1 server=$2 connections=$3 slot=$4 port threads=2 script=bench/stats.lua
  [ "$server" = bare ] && port=$bare_port || port=${route_port[$route]}
  [ "$connections" = 1 ] && threads=1
  if [ "$route" = booking ]; then
    local first last
    read -r first last <<<"${arena[$slot]}"
    FIRST_TICKET=$first LAST_TICKET=$last CUSTOMERS=$out_dir/customers.txt THREADS=$threads \
      wrk_json -t"$threads" -c"$connections" -d"$duration" -s bench/booking.lua "http://127.0.0.1:$port"
  else
    wrk_json -t"$threads" -c"$connections" -d"$duration" -s "$script" "http://127.0.0.1:$port${route_path[$route]}"
  fi
}

# Warm-up, not measured: every connection of every pool opened, every statement prepared.
[ -n "${BENCH_SMOKE:-}" ] || for route in film films seats; do
  for port in ${route_port[$route]} $bare_port; do
    wrk -t2 -c16 -d1s "http://127.0.0.1:$port${route_path[$route]}" >/dev/null
  done
done

results=()
slot=0
for route in film films seats booking; do
  for connections in 1 32; do
    router_runs=() bare_runs=()
    for _ in $(seq "$rounds"); do
      router_runs+=("$(run "$route" router "$connections" "$slot")")
      bare_runs+=("$(run "$route" bare "$connections" "$((slot + 1))")")
      bare_runs+=("$(run "$route" bare "$connections" "$((slot + 2))")")
      router_runs+=("$(run "$route" router "$connections" "$((slot + 3))")")
      if [ "$route" = booking ]; then slot=$((slot + 4)); fi
    done
    line=$(python3 - "$route" "${route_name[$route]}" "$connections" \
      "$(printf '%s\n' "${router_runs[@]}")" "$(printf '%s\n' "${bare_runs[@]}")" <<'PY'
import json, statistics, sys
route, name, connections = sys.argv[1], sys.argv[2], int(sys.argv[3])
router = [json.loads(x) for x in sys.argv[4].splitlines()]
bare = [json.loads(x) for x in sys.argv[5].splitlines()]
def per_request_us(runs):
    # At 1 connection the time a request takes; at 32 the server's time per request at
    # saturation, the inverse of throughput. The median run: a burst of other work on a
    # shared machine spoils one run, not the figure.
    if connections == 1:
        return statistics.median(r["latency_mean_us"] for r in runs)
    return 1e6 / statistics.median(r["rps"] for r in runs)
failures = sum(r["errors"] + r["non2xx"] for r in router + bare)
print(json.dumps({
    "route": route, "name": name, "connections": connections, "runs_each": len(router),
    "router_us": per_request_us(router), "bare_us": per_request_us(bare),
    "router_rps": statistics.median(r["rps"] for r in router),
    "bare_rps": statistics.median(r["rps"] for r in bare),
    "failures": failures, "runs": {"router": router, "bare": bare},
}))
r, b = per_request_us(router), per_request_us(bare)
print(f"  {name:<38} c={connections:<3} router {r:8.1f} us  bare {b:8.1f} us  "
      f"ratio {r / b:.2f}  failures {failures}", file=sys.stderr)
PY
)
    results+=("$line")
  done
done
printf '%s\n' "${results[@]}" >"$out_dir/requests.json"

# Peak memory of the loopback servers after all of the above (for information: the
# figure compared with the limit is the Lambda processes' own, from scripts/cold-start.sh).
{
  for server in films screenings reservations bare; do
    printf '{"server": "%s", "peak_rss_kib": %s}\n' "$server" "$(peak_rss_kib "${server_pid[$server]}")"
  done
} >"$out_dir/serve-rss.json"

# ---- reads while logins
reads() {
  wrk_json -t2 -c8 -d"$duration" -s bench/stats.lua "http://127.0.0.1:$films_port${route_path[film]}"
}
seconds=${duration%s}
logins=()
for placement in shared pinned; do
  read_pin='' login_pin=''
  if [ "$placement" = pinned ]; then
    # The auth server (its blocking pool too: threads inherit the mask) and its clients on
    # core 1, the films server and its clients on core 0. PostgreSQL is not pinned.
    taskset -a -cp 1 "${server_pid[auth]}" >/dev/null
    taskset -a -cp 0 "${server_pid[films]}" >/dev/null
    read_pin=0 login_pin=1
  fi
  alone=$(WRK_PIN=$read_pin reads)
  # A login on one shared core takes seconds: wrk's 2 s timeout would count them as errors.
  WRK_PIN=$login_pin wrk_json -t1 -c4 -d"$((seconds + 2))s" --timeout 30s -s bench/login.lua \
    "http://127.0.0.1:$auth_port/auth/login" >"$out_dir/logins-wrk.json" &
  logins_pid=$!
  sleep 1 # the logins reach their steady state first
  together=$(WRK_PIN=$read_pin reads)
  wait "$logins_pid"
  line=$(python3 -c '
import json, sys
alone, together, logins = (json.loads(x) for x in sys.argv[2:5])
print(json.dumps({"placement": sys.argv[1], "reads_alone_rps": alone["rps"],
                  "reads_with_logins_rps": together["rps"], "logins_rps": logins["rps"],
                  "failures": sum(r["errors"] + r["non2xx"] for r in (alone, together, logins)),
                  "bcrypt_cost": int(sys.argv[5])}))
a, t, g = alone["rps"], together["rps"], logins["rps"]
print(f"  reads while 4 logins ({sys.argv[1]} cores): {a:.0f}/s alone, {t:.0f}/s with "
      f"{g:.1f} logins/s: {100 * t / a:.0f} % kept", file=sys.stderr)' \
    "$placement" "$alone" "$together" "$(cat "$out_dir/logins-wrk.json")" "$bcrypt_cost")
  logins+=("$line")
done
printf '%s\n' "${logins[@]}" >"$out_dir/logins.json"
