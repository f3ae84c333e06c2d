#!/usr/bin/env bash
# Every benchmark in one run on one machine, then the table of figures against their
# limits (bench/report.py). `make bench` runs it; `make bench-smoke` runs it with
# BENCH_SMOKE=1: debug binaries, tiny durations, no arm64 build, so that the harness is
# exercised in seconds without measuring anything.
#
# Needs: make tools (cargo-lambda, zig, moto), wrk, zip, a PostgreSQL server at PG_SERVER.
# Uses the databases cinema_bench, cinema_bench_requests, cinema_bench_sql, cinema_coldstart
# and cinema_scale_* (the large one kept between runs), cinema_bench_flash, a private cluster of
# its own for the connection storm (PostgreSQL's initdb), and ports 7101-7120, 5015 and 9300.
set -euo pipefail
source "$(dirname "$0")/common.sh"

smoke=${BENCH_SMOKE:-}
if [ -n "$smoke" ]; then
  export PROFILE=debug BCRYPT_COST=4
  profile=debug bin_dir=$target_dir/debug
  booking_duration=1s request_duration=1s runs=1 load_requests=5
else
  booking_duration=${BOOKING_DURATION:-10s} request_duration=${REQUEST_DURATION:-4s}
  runs=${RUNS:-10} load_requests=${LOAD_REQUESTS:-300}
fi
rm -f "$out_dir"/*.json "$out_dir/wrk.log"

echo "== build (x86-64, $profile)"
build_host_binaries
export BENCH_NO_BUILD=1
if [ -z "$smoke" ]; then
  echo "== package sizes (release, arm64)"
  BENCH_NO_BUILD='' bench/sizes.sh 2>/dev/null
fi

echo "== SQL statements per request, every endpoint"
fresh_database cinema_bench_sql
DATABASE_URL=$pg_server/cinema_bench_sql JWT_SECRET=benchmark-signing-key-0123456789-abcdef \
  BCRYPT_COST=4 "$bin_dir/cinema-bench-statements" "$out_dir/statements.json" >"$out_dir/statements.txt"
tail -1 "$out_dir/statements.txt"

echo "== cold start and peak memory through the Lambda runtime emulator"
BINARY_DIR=$bin_dir COLD_START_SEED=bench/seed.sql COLD_START_JSON=$out_dir/coldstart.json \
  RUNS=$runs LOAD_REQUESTS=$load_requests scripts/cold-start.sh \
  auth:GET:/users/me 'films:GET:/films?limit=50' screenings:GET:/screenings/1/seats \
  reservations:GET:/reservations hello:GET:/ 2>"$out_dir/coldstart.log"

echo "== Lambda-shaped: each function at each memory size's CPU share, TLS to the database"
python3 -m bench.lambda_shape "$bin_dir" "$out_dir/lambda_shape.json" ${smoke:+--smoke} \
  >"$out_dir/lambda_shape.md" 2>"$out_dir/lambda_shape.log" ||
  { tail -20 "$out_dir/lambda_shape.log" >&2; exit 1; }

echo "== booking throughput"
DURATION=$booking_duration bench/booking.sh >"$out_dir/booking.log" 2>&1 ||
  { cat "$out_dir/booking.log" >&2; exit 1; }
grep -E '^(Requests/sec|active seats|seats booked twice)' "$out_dir/booking.log"

echo "== server time per request; reads while logins"
DURATION=$request_duration bench/requests.sh

echo "== scale: every read and booking on a near-empty cinema and on five years of data"
bench/scale.sh

echo "== concurrency: a flash sale, and a connection storm against a 50-connection PostgreSQL"
python3 -m bench.concurrency "$bin_dir" "$pg_server" "$out_dir/concurrency.json" ${smoke:+--smoke}

echo
python3 -m bench.report "$out_dir" ${smoke:+--smoke} | tee "$out_dir/report.md"
