#!/usr/bin/env bash
# Booking throughput: 32 concurrent clients each booking one seat nobody else books, against
# the reservations function's real Router on loopback, for a fixed time. Then checks in the
# database that every 201 is exactly one active seat and no seat is booked twice.
#
#   bench/booking.sh            (needs: make tools; wrk; a PostgreSQL server)
# Environment: CONNECTIONS (32), DURATION (10s), and PROFILE, PG_SERVER, BENCH_OUT,
# BENCH_NO_BUILD (see bench/common.sh). Writes $BENCH_OUT/booking.json.
set -euo pipefail
source "$(dirname "$0")/common.sh"

connections=${CONNECTIONS:-32}
duration=${DURATION:-10s}
db_url=$pg_server/cinema_bench
auth_port=7101
booking_port=7104

build_host_binaries
fresh_database cinema_bench

# Three screenings in one 100 x 100 hall: 30,000 seats with contiguous ticket ids.
psql "$db_url" -qAt <<'SQL' > /dev/null
insert into films (title, age_rating, duration_minutes, release_year) values ('Benchmark', 'PG', 100, 2024);
insert into halls (name, kind, surcharge_percent, rows, seats_per_row) values ('Arena', 'vip', 52, 100, 100);
insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
select 1, h.id, now() + make_interval(days => d), now() + make_interval(days => d, mins => 100), 10
from halls h, generate_series(1, 3) d where h.name = 'Arena';
insert into tickets (screening_id, row_number, seat_number)
select s.id, r, n from screenings s, generate_series(1, 100) r, generate_series(1, 100) n order by s.id, r, n;
SQL
read -r first last < <(psql "$db_url" -qAt -F ' ' -c 'select min(id), max(id) from tickets')

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
export DATABASE_URL=$db_url JWT_SECRET=benchmark-signing-key-0123456789-abcdef BCRYPT_COST=4 DB_POOL_MAX_CONNECTIONS=16 RUST_LOG=warn
"$bin_dir/cinema-bench-serve" auth "127.0.0.1:$auth_port" & pids+=($!)
"$bin_dir/cinema-bench-serve" reservations "127.0.0.1:$booking_port" & pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$booking_port/" && curl -s -o /dev/null "http://127.0.0.1:$auth_port/" && break; sleep 0.1; done

curl -sf "http://127.0.0.1:$auth_port/auth/register" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"Bench#Pass1","confirm_password":"Bench#Pass1","full_name":"Bench Mark"}' > /dev/null
token=$(curl -sf "http://127.0.0.1:$auth_port/auth/login" -d 'username=bench&password=Bench%23Pass1' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

echo "booking: $connections connections, $duration, one distinct seat per request"
bench_customers 2000 "${db_url##*/}"
FIRST_TICKET=$first LAST_TICKET=$last CUSTOMERS=$out_dir/customers.txt THREADS=2 \
  wrk -t2 -c"$connections" -d"$duration" --latency -s bench/booking.lua "http://127.0.0.1:$booking_port" |
  tee "$out_dir/booking.txt" | grep -v '^WRK_JSON '

read -r active twice reservations < <(psql "$db_url" -qAt -F ' ' -c \
  "select (select count(*) from reservation_items where active),
          (select count(*) from (select ticket_id from reservation_items where active group by 1 having count(*) > 1) d),
          (select count(*) from reservations)")
echo "active seats: $active"
echo "seats booked twice: $twice"
echo "reservations: $reservations"
python3 -c '
import json, sys
run = json.loads(sys.argv[1])
print(json.dumps({**run, "connections": int(sys.argv[2]), "active_seats": int(sys.argv[3]),
                  "booked_twice": int(sys.argv[4]), "reservations": int(sys.argv[5])}))' \
  "$(sed -n 's/^WRK_JSON //p' "$out_dir/booking.txt")" "$connections" "$active" "$twice" "$reservations" \
  >"$out_dir/booking.json"
