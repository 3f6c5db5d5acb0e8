#!/usr/bin/env bash
# vagrant.sh - what `vagrant up` does to the Debian 12 box, done on this machine: the Vagrantfile's
# provisioning script (packaging/vagrant-provision.sh) runs in a throwaway copy of the checkout;
# then the README's run command (scripts/run.sh) must deploy the example in that copy, as the
# user does inside the box, and the copy's programs destroy it again.
#
#   vagrant.sh BUILD_DIR SOURCE_DIR VERSION     (as root, as the provisioning runs)
#
# The copy holds the files git knows (tracked, or new and not ignored): no build trees. The demo
# and the copy are removed however the test ends.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=$2 version=$3 # $1: the build directory


if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: the provisioning runs as root"
	exit 77
fi
grep -q 'config.vm.box = "debian/bookworm64"' "$src/Vagrantfile" || fail "the Vagrantfile's box is not debian/bookworm64"
grep -q 'path: "packaging/vagrant-provision.sh"' "$src/Vagrantfile" ||
	fail "the Vagrantfile does not provision with packaging/vagrant-provision.sh"

tmp=$(mktemp -d /tmp/occo-vagrant.XXXXXX)
copy=$tmp/vagrant
demo=$copy/.demo
cleanup() {
	local rc=$?

	set +e
	if [ -s "$demo/infra_id" ] && [ -x "$copy/build-release/api/occopus-destroy" ]; then
		(cd "$copy" && HOME=$tmp OCCOPUS_STATE_DIR=$demo OCCOPUS_CONFIG_PATH='' \
			build-release/api/occopus-destroy -i "$(cat "$demo/infra_id")") >/dev/null 2>&1
	fi
	for f in "$demo"/local/*/*/pid; do
		[ -f "$f" ] && kill -KILL -- "-$(cut -d' ' -f1 "$f")" 2>/dev/null
	done
	stop_pidfile "$demo/redis.pid"
	rm -rf "$tmp"
	finish $rc
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step "copy the checkout to $copy"
mkdir -p "$copy"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ ! -e "$f" ] || printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -C "$copy" -xf -
else
	tar -C "$src" --exclude='./build*' --exclude=./.demo -cf - . | tar -C "$copy" -xf -
fi
[ -f "$copy/packaging/vagrant-provision.sh" ] || fail "the copy lacks packaging/vagrant-provision.sh"

step "provision (packaging/vagrant-provision.sh)"
bash "$copy/packaging/vagrant-provision.sh" "$copy" >"$tmp/provision.log" 2>&1 || {
	tail -30 "$tmp/provision.log" >&2
	fail "the provisioning failed"
}
out=$("$copy/build-release/api/occopus-build" --version)
[ "$out" = "occopus-build (occopus-c) $version" ] || fail "occopus-build --version printed '$out'"

step "the run command (scripts/run.sh) in the provisioned copy"
(cd "$copy" && HOME=$tmp ./scripts/run.sh) >"$tmp/run.log" 2>&1 || {
	tail -30 "$tmp/run.log" >&2
	fail "scripts/run.sh failed"
}
grep -q "^The demo runs: infrastructure " "$tmp/run.log" || {
	tail -30 "$tmp/run.log" >&2
	fail "scripts/run.sh did not report the demo"
}
grep -q "jobs done, by worker address" "$tmp/run.log" || fail "the demo's front page did not answer"
exit 0
