#!/bin/sh
# start.sh - run occopus-c's REST service from its copkg package, in the foreground:
#
#   script.d/start.sh --run=<runtime dir>
#
# Everything it keeps is in the runtime directory: occopus_config.yaml (copied from the
# package's etc/ on the first start; edit it there), state/ (the embedded Redis, the local
# back-end's nodes), home/ (its $HOME), occopus-rest-service.pid. Credentials: put an
# auth_data.yaml in the runtime directory (chmod 600), or set $OCCOPUS_AUTH_DATA_PATH.
#
# Where it listens: rest.host and rest.port of the configuration, unless $REST_HOST /
# $REST_PORT say otherwise; as a node of the local back-end, on its own address
# ($OCCOPUS_ADDRESS). script.d/stop.sh --run=<runtime dir> stops it (SIGTERM does too).
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
run=$(cd "$run" && pwd)
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
echo $$ >"$run/occopus-rest-service.pid"
exec "$pkg/bin/occopus-rest-service" "$@"
