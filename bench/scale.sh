#!/usr/bin/env bash
# Every read endpoint and booking on a near-empty cinema and on five years of a multiplex's
# data (bench/scale.sql), side by side in one run (cinema-bench-scale). The large data set
# takes about two minutes to generate; it is kept between runs (database cinema_scale_large)
# while its schema is current, unless SCALE_RESEED=1. BENCH_SMOKE=1: a small "large" set.
set -euo pipefail
source "$(dirname "$0")/common.sh"
build_host_binaries

if [ -n "${BENCH_SMOKE:-}" ]; then
  large_seed='200, 50, 5, 3' large_db=cinema_scale_smoke runs=3
else
  large_seed='20000, 5000, 1840, 14' large_db=cinema_scale_large runs=${RUNS:-30}
fi
# Two days back, so that a screening more than a day past exists at any hour of the day (the
# benchmark reads one's passes and sales).
small_seed='50, 20, 2, 3' small_db=cinema_scale_small
# A data set is current when made by this seed file, with these arguments, on these migrations
# (their content, not only their number: a migration edited before it was released counts).
seed_id() {
  echo "seed_cinema($1) $(sha1sum bench/scale.sql | cut -c1-12) $(cat migrations/*.sql | sha1sum | cut -c1-12)"
}

seed() {  # database, seed_cinema arguments
  fresh_database "$1"
  psql -v ON_ERROR_STOP=1 -q "$pg_server/$1" -f bench/scale.sql -c "select pg_temp.seed_cinema($2)" >/dev/null
  psql -q "$pg_server/$1" -c 'vacuum analyze' >/dev/null
  psql -q "$pg_server/$1" -c "comment on database \"$1\" is '$(seed_id "$2")'" >/dev/null
}

latest=$(ls migrations | sort | tail -n 1 | cut -d_ -f1 | sed 's/^0*//')
current() {  # whether database $1 holds the latest schema and seed $2
  [ "$(psql -XAtq "$pg_server/$1" -c "select max(version) from _sqlx_migrations" 2>/dev/null)" = "$latest" ] &&
    [ "$(psql -XAtq "$pg_server/postgres" -c "select shobj_description(oid, 'pg_database') from pg_database where datname = '$1'")" = "$(seed_id "$2")" ]
}

seed "$small_db" "$small_seed"
if [ "${SCALE_RESEED:-}" = 1 ] || ! current "$large_db" "$large_seed"; then
  echo "generating the large data set (seed_cinema($large_seed))"
  start=$(date +%s)
  seed "$large_db" "$large_seed"
  echo "generated in $(( $(date +%s) - start )) s"
fi
psql -XAtq "$pg_server/$large_db" -c "select format('large: %s users, %s films, %s screenings, %s tickets, %s reservations',
  (select count(*) from users), (select count(*) from films), (select count(*) from screenings),
  (select count(*) from tickets), (select count(*) from reservations))"
JWT_SECRET=unused RUNS=$runs "$bin_dir/cinema-bench-scale" "$pg_server/$small_db" "$pg_server/$large_db" \
  "$out_dir/scale.json" | tee "$out_dir/scale.md"
