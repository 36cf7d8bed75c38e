#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 cluster that this script starts and removes.
# DATABASE_URL is exported for the command. Exit code 3 (and one loud line) when PostgreSQL
# cannot be had here.
set -uo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
  echo "!!!!! PostgreSQL 15 not found in $PG_BIN: the PostgreSQL test run is SKIPPED !!!!!"
  exit 3
fi
dir=$(mktemp -d /tmp/dashboard-pg.XXXXXX)
chmod 755 "$dir"
runas=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: use the postgres user (created if missing).
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres "$dir"
  runas=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
cleanup() {
  "${runas[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
if ! "${runas[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log"
  echo "!!!!! initdb failed: the PostgreSQL test run is SKIPPED !!!!!"
  exit 3
fi
if ! "${runas[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -h 127.0.0.1 -F -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null; then
  cat "$dir/server.log"
  echo "!!!!! PostgreSQL did not start: the PostgreSQL test run is SKIPPED !!!!!"
  exit 3
fi
"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres dashboard  # for benchmarks; tests make their own
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/dashboard"
"$@"
