#!/usr/bin/env bash
# Start a throw-away local PostgreSQL server for the platform's `postgres` tests.
#   scripts/start-postgres.sh          start (installs Debian's postgresql first if it is missing)
#   scripts/start-postgres.sh stop     stop it
# The server listens on 127.0.0.1:${UTFALL_PG_PORT:-54329} with trust authentication for the
# local user "utfall" and database "utfall"; the tests find it there without any variable
# (or set UTFALL_TEST_POSTGRES_URL). Skips with a clear message where it cannot run.
set -uo pipefail

PORT="${UTFALL_PG_PORT:-54329}"
DIR="${UTFALL_PG_DIR:-/tmp/utfall-postgres}"
URL="postgresql://utfall@127.0.0.1:${PORT}/utfall"

skip() { echo "start-postgres: SKIPPED - $*; the postgres tests will be skipped." >&2; exit 0; }

find_bin() {
    command -v "$1" 2>/dev/null && return
    ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1
}

if [ -z "$(find_bin pg_ctl)" ]; then
    command -v apt-get >/dev/null 2>&1 || skip "no PostgreSQL and no apt-get"
    [ "$(id -u)" -eq 0 ] || skip "no PostgreSQL and not root (cannot apt-get install postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || skip "apt-get update failed"
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
        || skip "apt-get install postgresql failed"
fi
PG_CTL="$(find_bin pg_ctl)"
INITDB="$(find_bin initdb)"
[ -n "$PG_CTL" ] && [ -n "$INITDB" ] || skip "pg_ctl/initdb not found"

# PostgreSQL refuses to run as root: use the postgres system user then.
RUN=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$DIR" postgres \
        || skip "cannot create the postgres user"
    RUN=(runuser -u postgres --)
fi

if [ "${1:-start}" = "stop" ]; then
    [ -d "$DIR/data" ] && "${RUN[@]}" "$PG_CTL" -D "$DIR/data" -m fast stop
    exit 0
fi

if "${RUN[@]}" "$PG_CTL" -D "$DIR/data" status >/dev/null 2>&1; then
    echo "start-postgres: already running at $URL"
    exit 0
fi
mkdir -p "$DIR"
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR"
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    "${RUN[@]}" "$INITDB" -D "$DIR/data" -U utfall -A trust --no-sync -E UTF8 >/dev/null \
        || skip "initdb failed"
fi
"${RUN[@]}" "$PG_CTL" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || skip "the server did not start (see $DIR/server.log)"
CREATEDB="$(find_bin createdb)"
"${RUN[@]}" "$CREATEDB" -h 127.0.0.1 -p "$PORT" -U utfall utfall 2>/dev/null || true
echo "start-postgres: running at $URL"
