#!/usr/bin/env bash
# deb.sh - the Debian package as an administrator meets it: build it (cpack, into BUILD_DIR/deb/
# where it stays), install it on this machine (dpkg -i, then apt-get -f install, which finds
# nothing to fetch), run the installed programs (every one's --version; a real build and destroy
# of a local-back-end infrastructure as the system user occopus, with
# /etc/occopus/occopus_config.yaml found by the programs and its state in /var/lib/occopus,
# against a Redis the test starts; the REST service as its unit runs it), keep an edited
# conffile over a reinstall, then remove it (configuration and state stay) and purge it
# (nothing stays: no files, no user, no /etc/occopus, no /var/lib/occopus).
#
#   deb.sh BUILD_DIR SOURCE_DIR VERSION      (as root; the build tree configured with
#                                             -DCMAKE_INSTALL_PREFIX=/usr, already built)
#
# The machine is restored (package purged, processes stopped, temporary files removed) however
# the test ends. It refuses to run where occopus-c, the user occopus, /etc/occopus or
# /var/lib/occopus exist already: it would destroy them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$1 version=$3 # $2: the source directory
pkg=occopus-c
etc=/etc/occopus state=/var/lib/occopus


if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: dpkg -i needs root"
	exit 77
fi
for p in dpkg dpkg-deb cpack redis-server runuser setpriv curl busybox python3; do
	command -v "$p" >/dev/null || {
		echo "skipped: needs $p"
		exit 77
	}
done
# dpkg/apt-get, waiting (up to 10 minutes) while another one holds the dpkg lock
locked() {
	local i

	for i in $(seq 600); do
		if "$@" >"$tmp/dpkg.log" 2>&1; then
			return 0
		fi
		grep -q -e 'lock was locked by another process' -e 'Could not get lock' \
			"$tmp/dpkg.log" || break
		[ "$i" -eq 1 ] && echo "   (waiting for the dpkg lock)"
		sleep 1
	done
	cat "$tmp/dpkg.log" >&2
	return 1
}
status() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true; }
case "$(status)" in
'' | 'unknown ok not-installed') ;;
*) fail "$pkg is installed on this machine ($(status)): the test would replace it; dpkg --purge $pkg first" ;;
esac
getent passwd occopus >/dev/null && fail "the user occopus exists: the test would delete it"
[ -e $etc ] && fail "$etc exists: the test would delete it"
[ -e $state ] && fail "$state exists: the test would delete it"

tmp=$(mktemp -d /tmp/occo-deb.XXXXXX)
chmod 755 "$tmp"
redis_pid='' rest_pid=''

cleanup() {
	local rc=$?

	set +e
	[ -n "$rest_pid" ] && kill -KILL "$rest_pid" 2>/dev/null
	# nodes of the local back-end the test may have left
	for f in "$state"/local/*/*/pid; do
		[ -f "$f" ] && kill -KILL -- "-$(cut -d' ' -f1 "$f")" 2>/dev/null
	done
	if [ "$(status)" != "" ] && [ "$(status)" != "unknown ok not-installed" ]; then
		locked dpkg --purge "$pkg" || echo "cleanup: dpkg --purge $pkg failed" >&2
	fi
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	rm -rf "$tmp"
	finish $rc
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step "build the package (cpack)"
# into BUILD_DIR/deb/, where it stays (the test command's package)
rm -f "$bin"/deb/*.deb
(cd "$bin" && cpack -G DEB -B "$bin/deb" >"$tmp/cpack.log" 2>&1) || {
	cat "$tmp/cpack.log" >&2
	fail "cpack failed"
}
deb=$(ls "$bin"/deb/${pkg}_"${version}"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no ${pkg}_${version}_*.deb in $bin/deb: $(ls "$bin/deb")"
[ "$(dpkg-deb -f "$deb" Package)" = "$pkg" ] || fail "Package is not $pkg"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version: $(dpkg-deb -f "$deb" Version), not $version"
depends=$(dpkg-deb -f "$deb" Depends)
for d in redis-server adduser libc6 libhiredis libuv1 libyaml libjansson4 libcurl4 libssl3; do
	[[ "$depends" == *"$d"* ]] || fail "Depends lacks $d: $depends"
done

step "install: dpkg -i $(basename "$deb"), apt-get -f install"
locked dpkg -i "$deb" || fail "dpkg -i failed"
# dependencies are all here already: apt must find nothing to fetch
locked apt-get -f install -y -qq -o Acquire::Retries=0 || fail "apt-get -f install failed"
[ "$(status)" = "install ok installed" ] || fail "status after install: $(status)"

step "the installed files"
programs=$(dpkg -L $pkg | grep '^/usr/bin/occopus-' | sort)
expected="occopus-build occopus-destroy occopus-import occopus-info occopus-maintain occopus-render occopus-scale"
[ -x "$bin/api/occopus-rest-service" ] && expected="$expected occopus-rest-service"
for p in $expected; do
	grep -qx "/usr/bin/$p" <<<"$programs" || fail "the package lacks /usr/bin/$p"
done
for p in $programs; do
	name=$(basename "$p")
	out=$("$p" --version) || fail "$p --version exited $?"
	[ "$out" = "$name (occopus-c) $version" ] || fail "$p --version printed '$out'"
done
# the man pages, read from the package (dpkg may be told to leave /usr/share/man out, as in
# slim container images)
dpkg-deb -x "$deb" "$tmp/contents"
man=$tmp/contents/usr/share/man
for p in $programs; do
	[ -f "$man/man1/$(basename "$p").1.gz" ] || fail "no man page for $(basename "$p")"
done
for page in man5/occopus-infra.5.gz man5/occopus-nodes.5.gz man1/occopus-rest-service.1.gz; do
	[ -f "$man/$page" ] || fail "no /usr/share/man/$page"
done
if command -v groff >/dev/null; then
	for page in "$man"/man*/*.gz; do
		warn=$(zcat "$page" | groff -man -Tutf8 -ww -z 2>&1) || fail "groff failed on $page"
		[ -z "$warn" ] || fail "groff warns on ${page#"$tmp"/contents}: $warn"
	done
fi
dpkg-query -W -f='${Conffiles}\n' $pkg | grep -q " $etc/occopus_config.yaml " ||
	fail "$etc/occopus_config.yaml is not a conffile"
for unit in occopus-rest-service.service occopus-maintain@.service; do
	[ -f "/lib/systemd/system/$unit" ] || fail "no unit $unit"
done
if command -v systemd-analyze >/dev/null; then
	units=/lib/systemd/system/occopus-maintain@.service
	[ -x /usr/bin/occopus-rest-service ] && units="$units /lib/systemd/system/occopus-rest-service.service"
	# shellcheck disable=SC2086
	systemd-analyze verify --man=no $units >"$tmp/verify.log" 2>&1 || {
		cat "$tmp/verify.log" >&2
		fail "systemd-analyze verify failed"
	}
fi
grep -q '^ExecStart=/usr/bin/occopus-maintain .*-c -i %i$' /lib/systemd/system/occopus-maintain@.service ||
	fail "occopus-maintain@.service does not run occopus-maintain -c -i %i"
entry=$(getent passwd occopus) || fail "no user occopus"
IFS=: read -r _ _ uid _ _ home shell <<<"$entry"
[ "$uid" -lt 1000 ] || fail "occopus is not a system user (uid $uid)"
[ "$home" = $state ] || fail "occopus's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "occopus's shell is $shell"
[ "$(stat -c '%U %G %a' $state)" = "occopus occopus 750" ] ||
	fail "$state is $(stat -c '%U %G %a' $state)"

step "build and destroy a local-back-end infrastructure as occopus"
mkdir -p "$tmp/redis" "$tmp/infra"
chmod 755 "$tmp/redis" "$tmp/infra"
redis-server --port 0 --unixsocket "$tmp/redis/redis.sock" --unixsocketperm 777 \
	--dir "$tmp/redis" --save '' --appendonly no >"$tmp/redis/log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
	[ -S "$tmp/redis/redis.sock" ] && break
	sleep 0.1
done
[ -S "$tmp/redis/redis.sock" ] || fail "redis-server did not start: $(cat "$tmp/redis/log")"
cat >"$tmp/infra/nodes.yaml" <<'YAML'
'node_def:web':
  - resource:
      type: local
      address_range: 127.79.0.0/24
      command: exec busybox httpd -f -p "$OCCOPUS_ADDRESS:18080" -h .
    health_check:
      ping: false
      ports: [18080]
      timeout: 30
YAML
cat >"$tmp/infra/infra.yaml" <<'YAML'
user_id: test@example.com
infra_name: deb-test
nodes:
  - name: web
    type: web
YAML
chmod 644 "$tmp"/infra/*.yaml
as_occopus() {
	(cd "$tmp/infra" && runuser -u occopus -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
		HOME=$state OCCOPUS_REDIS_URL="unix://$tmp/redis/redis.sock" \
		OCCOPUS_LOG_LEVEL=warn "$@")
}
as_occopus /usr/bin/occopus-import nodes.yaml >"$tmp/out" 2>&1 || fail "occopus-import: $(cat "$tmp/out")"
grep -q "Using default configuration file: '$etc/occopus_config.yaml'" "$tmp/out" ||
	fail "the programs do not find $etc/occopus_config.yaml: $(cat "$tmp/out")"
as_occopus /usr/bin/occopus-build infra.yaml >"$tmp/build.out" 2>"$tmp/build.err" ||
	fail "occopus-build: $(cat "$tmp/build.out" "$tmp/build.err")"
id=$(tail -1 "$tmp/build.out")
rundir=$(ls -d "$state/local/$id"/*/ 2>/dev/null | head -1)
[ -n "$rundir" ] || fail "no runtime directory under $state/local/$id (state_dir of $etc not used?)"
addr=$(cat "$rundir/address")
pid=$(cut -d' ' -f1 "$rundir/pid")
[ "$(stat -c %U "/proc/$pid")" = occopus ] || fail "the node does not run as occopus"
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$addr:18080/address" || true)
[ "$code" = 200 ] || fail "the node does not serve its runtime directory on $addr:18080 ($code)"
as_occopus /usr/bin/occopus-maintain -r -i "$id" >"$tmp/out" 2>&1 || fail "occopus-maintain -r: $(cat "$tmp/out")"
grep -q "$addr" "$tmp/out" || fail "occopus-maintain -r does not report $addr: $(cat "$tmp/out")"
as_occopus /usr/bin/occopus-destroy -i "$id" >"$tmp/out" 2>&1 || fail "occopus-destroy: $(cat "$tmp/out")"
[ ! -e "$state/local/$id" ] || fail "$state/local/$id is left after destroy"
# (a zombie counts as gone: where PID 1 does not reap orphans, it stays one)
if [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
	fail "the node ($pid) runs after destroy"
fi

if [ -x /usr/bin/occopus-rest-service ]; then
	step "the REST service as its unit runs it (ExecStart, User, Environment), on a free port"
	unit=/lib/systemd/system/occopus-rest-service.service
	exec_start=$(sed -n 's/^ExecStart=//p' $unit)
	unit_env=$(sed -n 's/^Environment=//p' $unit)
	[ "$(sed -n 's/^User=//p' $unit)" = occopus ] || fail "$unit does not run as occopus"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# setpriv execs (runuser would stay in between, and answer SIGTERM itself)
	# shellcheck disable=SC2086 # the unit's words, as systemd splits them
	(cd $state && exec setpriv --reuid occopus --regid occopus --init-groups \
		env -i PATH=/usr/bin:/bin LANG=C.UTF-8 $unit_env \
		OCCOPUS_REDIS_URL="unix://$tmp/redis/redis.sock" $exec_start --port "$port") \
		>"$tmp/rest.log" 2>&1 &
	rest_pid=$!
	code=000
	for _ in $(seq 300); do
		code=$(curl -s -o "$tmp/answer" -m 5 -w '%{http_code}' \
			"http://127.0.0.1:$port/infrastructures/" || true)
		[ "$code" = 000 ] || break
		kill -0 $rest_pid 2>/dev/null || break
		sleep 0.1
	done
	[ "$code" = 200 ] || fail "GET /infrastructures/ answered $code: $(cat "$tmp/rest.log")"
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/answer" ||
		fail "GET /infrastructures/ is not JSON: $(cat "$tmp/answer")"
	kill -TERM $rest_pid
	rc=0
	wait $rest_pid || rc=$?
	rest_pid=
	[ $rc -eq 0 ] || fail "occopus-rest-service exited $rc on SIGTERM: $(cat "$tmp/rest.log")"
else
	echo "   (no /usr/bin/occopus-rest-service yet: its unit is not run)"
fi

step "reinstall (an upgrade): the edited configuration stays"
echo "# edited by the administrator" >>$etc/occopus_config.yaml
locked dpkg -i "$deb" || fail "dpkg -i (again) failed"
grep -q "^# edited by the administrator" $etc/occopus_config.yaml || fail "the reinstall lost the edit"
[ "$(status)" = "install ok installed" ] || fail "status after reinstall: $(status)"

step "dpkg -r: configuration and state stay"
locked dpkg -r $pkg || fail "dpkg -r failed"
[ "$(status)" = "deinstall ok config-files" ] || fail "status after dpkg -r: $(status)"
for p in $programs /lib/systemd/system/occopus-maintain@.service /usr/share/man/man1/occopus-build.1.gz; do
	[ ! -e "$p" ] || fail "$p is left after dpkg -r"
done
left=$(dpkg -L $pkg | grep -v -e "^$etc" -e '^/etc$' -e '^/\.$' || true)
[ -z "$left" ] || fail "dpkg -L lists more than the configuration after dpkg -r: $left"
[ -f $etc/occopus_config.yaml ] || fail "dpkg -r removed $etc/occopus_config.yaml"
[ -d $state ] || fail "dpkg -r removed $state"

step "dpkg --purge: nothing stays"
locked dpkg --purge $pkg || fail "dpkg --purge failed"
case "$(status)" in
'' | 'unknown ok not-installed') ;;
*) fail "status after purge: $(status)" ;;
esac
dpkg -L $pkg >/dev/null 2>&1 && fail "dpkg -L still knows $pkg after purge"
[ ! -e $etc ] || fail "$etc is left after purge"
[ ! -e $state ] || fail "$state is left after purge"
! getent passwd occopus >/dev/null || fail "the user occopus is left after purge"
! getent group occopus >/dev/null || fail "the group occopus is left after purge"
exit 0
