#!/bin/sh
# stop.sh - stop what script.d/start.sh --run=<runtime dir> started: the REST service (SIGTERM,
# SIGKILL after 20 s), then its redis-server (<runtime dir>/state/redis.pid), and remove the
# socket directory start.sh made outside the runtime directory, if any. The runtime directory
# (configuration, state) stays: start.sh goes on from it.
set -u

run=
for arg in "$@"; do
	case "$arg" in
	--run=*) run=${arg#--run=} ;;
	*)
		echo "stop.sh: unknown argument '$arg' (usage: stop.sh --run=<runtime dir>)" >&2
		exit 2
		;;
	esac
done
if [ -z "$run" ]; then
	echo "stop.sh: usage: stop.sh --run=<runtime dir>" >&2
	exit 2
fi
[ -d "$run" ] || exit 0
run=$(cd "$run" && pwd -P)

# stop <pid file> <program name>: signal the process the file names if it runs that program
stop() {
	[ -f "$1" ] || return 0
	pid=$(head -n1 "$1" | tr -dc 0-9)
	[ -n "$pid" ] || return 0
	if ! grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null; then
		return 0 # gone, or the pid now belongs to another program
	fi
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			echo "stop.sh: $2 ($pid) ignored SIGTERM for 20 s: SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
}

stop "$run/occopus-rest-service.pid" occopus-rest-service
rm -f "$run/occopus-rest-service.pid"
stop "$run/state/redis.pid" redis-server
hash=$(printf '%s' "$run" | sha256sum | cut -c1-16)
rm -rf "${TMPDIR:-/tmp}/occopus-c.$hash"
exit 0
