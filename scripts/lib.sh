# shellcheck shell=bash
# Shared settings and helpers for canonflow's scripts. Sourced, never run.
#
# Every setting can be overridden from the environment:
#   CANONFLOW_STACK_DIR          state, caches and logs          (default: <repo>/.stack)
#   CANONFLOW_STACK_KAFKA_PORT   port of the local broker        (default: 19092)
#   CANONFLOW_STACK_PG_PORT      port of the local PostgreSQL    (default: 5432)
#   CANONFLOW_STACK_PG_DATABASE  database the stack creates      (default: canonflow)
#   CANONFLOW__KAFKA__BOOTSTRAP_SERVERS  use this Kafka instead: the stack starts no broker
#   CANONFLOW__POSTGRES__URL             use this PostgreSQL instead: the stack starts none

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${CANONFLOW_STACK_DIR:-$REPO_ROOT/.stack}
KAFKA_PORT=${CANONFLOW_STACK_KAFKA_PORT:-19092}
PG_PORT=${CANONFLOW_STACK_PG_PORT:-5432}
PG_DATABASE=${CANONFLOW_STACK_PG_DATABASE:-canonflow}
# Used only when the stack itself installs PostgreSQL; ignored under trust auth.
PG_PASSWORD=${CANONFLOW_STACK_PG_PASSWORD:-postgres}

say() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages given that are not installed yet.
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Polls "$@" until it succeeds or DEADLINE seconds have passed.
poll_until() {
  local deadline=$1; shift
  local end=$((SECONDS + deadline))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}
