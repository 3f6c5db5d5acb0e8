#!/bin/sh
# start.sh - run occopus-c's REST service from its copkg package, in the foreground:
#
#   script.d/start.sh --run=<runtime dir>
#
# Everything it keeps is in the runtime directory: occopus_config.yaml (copied from the
# package's etc/ on the first start; edit it there), state/ (its Redis: data, log, pid file;
# the local back-end's nodes), home/ (its $HOME), occopus-rest-service.pid. Credentials: put an
# auth_data.yaml in the runtime directory (chmod 600), or set $OCCOPUS_AUTH_DATA_PATH.
#
# The state store: unless the configuration names one (a top-level `redis:`), a redis-server of
# its own, started here beside the service (append-only file in state/), listening on a unix
# socket only: state/redis.sock, or, when that path is too long for a socket (a node of the
# local back-end), $TMPDIR/occopus-c.<hash of the runtime directory>/redis.sock.
#
# Where it listens: rest.host and rest.port of the configuration, unless $REST_HOST /
# $REST_PORT say otherwise; as a node of the local back-end, on its own address
# ($OCCOPUS_ADDRESS). script.d/stop.sh --run=<runtime dir> stops it and its Redis (SIGTERM to
# the service stops the service).
set -eu

run=
for arg in "$@"; do
	case "$arg" in
	--run=*) run=${arg#--run=} ;;
	*)
		echo "start.sh: unknown argument '$arg' (usage: start.sh --run=<runtime dir>)" >&2
		exit 2
		;;
	esac
done
if [ -z "$run" ]; then
	echo "start.sh: usage: start.sh --run=<runtime dir>" >&2
	exit 2
fi
pkg=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$run"
run=$(cd "$run" && pwd -P)
umask 077
mkdir -p "$run/state" "$run/home"

if [ ! -f "$run/occopus_config.yaml" ]; then
	cp "$pkg/etc/occopus_config.yaml" "$run/occopus_config.yaml"
	chmod 600 "$run/occopus_config.yaml"
fi

set -- --cfg "$run/occopus_config.yaml"
if [ -n "${OCCOPUS_AUTH_DATA_PATH:-}" ]; then
	set -- "$@" --auth_data_path "$OCCOPUS_AUTH_DATA_PATH"
elif [ -f "$run/auth_data.yaml" ]; then
	set -- "$@" --auth_data_path "$run/auth_data.yaml"
fi
host=${REST_HOST:-${OCCOPUS_ADDRESS:-}}
[ -z "$host" ] || set -- "$@" --host "$host"
[ -z "${REST_PORT:-}" ] || set -- "$@" --port "$REST_PORT"

# its own state only: not the configuration, credentials or Redis of whoever started it
export HOME="$run/home" OCCOPUS_STATE_DIR="$run/state"
unset OCCOPUS_CONFIG_PATH OCCOPUS_REDIS_URL OCCOPUS_AUTH_DATA_PATH
cd "$run"

if ! grep -q '^redis:' "$run/occopus_config.yaml"; then
	# a unix socket path holds 107 bytes at most
	sock=$run/state/redis.sock
	if [ ${#sock} -gt 100 ]; then
		hash=$(printf '%s' "$run" | sha256sum | cut -c1-16)
		mkdir -p "${TMPDIR:-/tmp}/occopus-c.$hash"
		sock=${TMPDIR:-/tmp}/occopus-c.$hash/redis.sock
	fi
	pid=$(cat "$run/state/redis.pid" 2>/dev/null || true)
	if [ -z "$pid" ] || ! grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
		rm -f "$sock"
		# beside the service, in its process group: it ends with the node
		redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$run/state" \
			--appendonly yes --save '' --pidfile "$run/state/redis.pid" \
			--logfile "$run/state/redis.log" &
		i=0
		while [ ! -S "$sock" ]; do
			i=$((i + 1))
			if [ "$i" -gt 100 ] || ! kill -0 $! 2>/dev/null; then
				echo "start.sh: redis-server did not start: $(tail -n 3 "$run/state/redis.log" 2>/dev/null)" >&2
				exit 1
			fi
			sleep 0.1
		done
	fi
	export OCCOPUS_REDIS_URL="unix://$sock"
fi

echo $$ >"$run/occopus-rest-service.pid"
exec "$pkg/bin/occopus-rest-service" "$@"
