# lib.sh - what the packaging tests share (sourced): timed steps, failing, and stopping the
# processes they start. Sets t0, the start of the test.
t0=$(date +%s)

step() { echo "== [$(($(date +%s) - t0)) s] $*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# alive PID: the process exists and is not a zombie
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# stop_pidfile FILE: SIGTERM the process a pid file names and wait (10 s) until it is gone, then
# SIGKILL. (A redis-server whose directory goes before it has saved refuses to stop.)
stop_pidfile() {
	local pid

	[ -f "$1" ] || return 0
	pid=$(head -n1 "$1" | tr -dc 0-9)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}
# finish RC: the closing line of a test (every test restores what it changed)
finish() {
	if [ "$1" -eq 0 ]; then
		echo "== passed in $(($(date +%s) - t0)) s"
	else
		echo "== failed (exit $1) after $(($(date +%s) - t0)) s" >&2
	fi
}
