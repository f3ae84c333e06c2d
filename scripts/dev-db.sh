#!/usr/bin/env bash
# Makes sure a PostgreSQL database answers at $DATABASE_URL and prints the URL to use.
#
# If nothing answers there and PostgreSQL's server binaries are installed, a private,
# throwaway cluster is started under .dev/pg on port 5433 instead (and its URL printed).
set -euo pipefail
url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cinema}
server=${url%/*}
dbname=${url##*/}
dbname=${dbname%%\?*}

answers() { psql "$1/postgres" -Atqc 'select 1' >/dev/null 2>&1; }

if ! answers "$server"; then
  # A cluster the machine already has may only be stopped.
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
fi
if ! answers "$server"; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] || { echo "no PostgreSQL at $server and no server binaries to start one" >&2; exit 1; }
  dir=$PWD/.dev/pg
  if [ ! -d "$dir/data" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown -R nobody "$dir" 2>/dev/null || true
    run=(); [ "$(id -u)" = 0 ] && run=(runuser -u nobody --)
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
  fi
  run=(); [ "$(id -u)" = 0 ] && run=(runuser -u nobody --)
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p 5433 -k $dir -h 127.0.0.1" -w start >/dev/null
  server=postgres://postgres@127.0.0.1:5433
  echo "started a private PostgreSQL cluster in .dev/pg (port 5433)" >&2
fi
if [ "$(psql "$server/postgres" -Atqc "select 1 from pg_database where datname = '$dbname'")" != 1 ]; then
  psql "$server/postgres" -qc "create database \"$dbname\"" >&2
fi
echo "$server/$dbname"
