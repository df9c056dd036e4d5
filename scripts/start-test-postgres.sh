#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the test suite and print its URL.
# Usage: eval "$(scripts/start-test-postgres.sh)"   → exports LAVA_TEST_POSTGRES_URL
# Root cannot run initdb, so as root the server runs as the 'postgres' user.
set -euo pipefail
PORT="${LAVA_TEST_PG_PORT:-25432}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$PGBIN" ]; then
  echo "start-test-postgres: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi
DIR="${LAVA_TEST_PG_DIR:-/tmp/lava-test-pg-$PORT}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ -f "$DIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  echo "export LAVA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/postgres"
  exit 0
fi
rm -rf "$DIR"; mkdir -p "$DIR"
if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/pg.log" -w -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null
echo "export LAVA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/postgres"
