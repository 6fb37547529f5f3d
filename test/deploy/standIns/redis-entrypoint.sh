#!/bin/sh
# As the official image's default: a server started by the command has protected mode off.
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server "$@" --protected-mode no
fi
exec "$@"
