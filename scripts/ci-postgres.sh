#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the sweep tests and print its URL.
#
#   eval "$(scripts/ci-postgres.sh)"     # exports VIDREC_TEST_POSTGRES=postgresql://...
#   scripts/ci-postgres.sh --stop        # stops the server this script started, if it runs
#
# Installs Debian's postgresql package when no server binaries are present (needs root,
# as in CI), runs the server from its own data folder (not the Debian cluster), as the
# postgres user when started by root, and is safe to run twice (an answering server is
# reused). The URL is also written to $VIDREC_PG_DIR/url. Messages go to stderr; stdout
# carries only export lines: the URL, and VIDREC_PG_STARTED=1 when this call started the
# server (a caller that started it stops it with --stop when done; a reused one is left).
set -euo pipefail

PORT="${VIDREC_PG_PORT:-54329}"
DIR="${VIDREC_PG_DIR:-/tmp/vidrec-pg}"
DB=vidrec_test
USER_NAME=vidrec
PASSWORD=vidrec
URL="postgresql://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"

log() { echo "ci-postgres: $*" >&2; }

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "--stop" ]; then
  BIN="$(bindir)"
  if [ -n "$BIN" ] && [ -s "$DIR/data/postmaster.pid" ]; then
    log "stopping the server in $DIR/data"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2
  fi
  exit 0
fi

BIN="$(bindir)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"; exit 1
  fi
  log "installing postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN="$(bindir)"
fi

STARTED=0
if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  log "a server already answers on port $PORT; reusing it"
else
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  if [ ! -s "$DIR/data/PG_VERSION" ]; then
    log "initdb in $DIR/data"
    as_owner "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >/dev/null
  fi
  log "starting the server on 127.0.0.1:$PORT"
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
  STARTED=1
fi

psql_() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_ -c "select 1 from pg_roles where rolname='${USER_NAME}'")" != 1 ]; then
  psql_ -c "create role ${USER_NAME} login password '${PASSWORD}'" >&2
fi
if [ "$(psql_ -c "select 1 from pg_database where datname='${DB}'")" != 1 ]; then
  psql_ -c "create database ${DB} owner ${USER_NAME}" >&2
fi
echo "$URL" > "$DIR/url"
log "ready: $URL"
echo "export VIDREC_TEST_POSTGRES=$URL"
[ "$STARTED" = 1 ] && echo "export VIDREC_PG_STARTED=1"
exit 0
