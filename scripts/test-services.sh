#!/usr/bin/env bash
# Run a command against throw-away PostgreSQL and Redis servers, then stop them.
#
#   scripts/test-services.sh COMMAND [ARGS...]
#
# Installs postgresql, redis-server and chromium with apt-get when missing (Debian only), starts
# both servers on free loopback ports in a temp dir, exports DATABASE_URL, REDIS_URL, DJANGO_ENV=test
# and DJANGO_ALLOW_ASYNC_UNSAFE=true, runs COMMAND, stops the servers even when COMMAND fails, and
# exits with COMMAND's status. Works as root (PostgreSQL then runs as the `postgres` user) and as
# an ordinary user (who must have the packages installed, or passwordless sudo).
set -euo pipefail

die() {
    echo "test-services: $*" >&2
    exit 1
}

[ $# -gt 0 ] || die "usage: $0 COMMAND [ARGS...]"

pg_bin() {
    # Debian 12 ships PostgreSQL 15, the version production runs; take the newest if 15 is absent.
    local dir
    for dir in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$dir/initdb" ]; then
            echo "$dir"
            return
        fi
    done
}

install_missing() {
    local missing=()
    [ -n "$(pg_bin)" ] || missing+=(postgresql)
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
    command -v chromium >/dev/null || missing+=(chromium)
    [ ${#missing[@]} -gt 0 ] || return 0

    command -v apt-get >/dev/null \
        || die "missing ${missing[*]}, and apt-get is not available to install them. This script" \
            "supports Debian; elsewhere install PostgreSQL 15, Redis and Chromium yourself."
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo -n true 2>/dev/null \
            || die "missing ${missing[*]}. Install them as root: apt-get install ${missing[*]}"
        sudo=(sudo -n)
    fi
    echo "test-services: installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_missing
PG_BIN=$(pg_bin)

# PostgreSQL refuses to run as root, so root runs it as the `postgres` user the package creates.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run PostgreSQL"
    as_pg=(runuser -u postgres --)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kp-test-services.XXXXXX")
pg_port=$(free_port)
redis_port=$(free_port)
pg_started=
redis_started=

cleanup() {
    local rc=$?
    if [ -n "$redis_started" ]; then
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    fi
    if [ -n "$pg_started" ]; then
        # immediate: the data is thrown away, so skip the shutdown checkpoint.
        "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The data directory's parent must belong to the server's user, mode 700.
chmod 700 "$tmp"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$tmp"

"${as_pg[@]}" "$PG_BIN/initdb" -D "$tmp/pg" -E UTF8 --locale=C.UTF-8 --no-sync -A trust -U postgres \
    >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; die "initdb failed"; }
pg_started=1
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w -s start \
    -o "-k $tmp -h 127.0.0.1 -p $pg_port -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    || { cat "$tmp/postgres.log" >&2; die "PostgreSQL did not start"; }
"$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres kp_tracker

redis_started=1
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$tmp" --logfile "$tmp/redis.log" --pidfile "$tmp/redis.pid"
for _ in $(seq 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null || { cat "$tmp/redis.log" >&2; die "Redis did not start"; }

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/kp_tracker"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export DJANGO_ENV=test
# Playwright's sync API leaves an event loop running, after which Django's ORM refuses sync
# calls in the same process (../shared/RECIPES.md).
export DJANGO_ALLOW_ASYNC_UNSAFE=true

rc=0
"$@" || rc=$?
exit "$rc"
