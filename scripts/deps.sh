#!/usr/bin/env bash
# deps.sh - install every build and test dependency of occopus-c from Debian's packages.
#
# Run as root on Debian 12 (bookworm). Installs only what is missing, so a second run does
# nothing but check. The test command (scripts/test.sh), the Vagrantfile and CI all call this
# one script: a dependency that is not listed here does not exist for the project.
set -euo pipefail

packages=(
	# toolchain
	build-essential cmake pkg-config git
	# libraries of the design card
	libhiredis-dev libyaml-dev libcurl4-openssl-dev libssl-dev libjansson-dev libuv1-dev
	libcmocka-dev
	# servers and tools the tests run against
	redis-server redis-tools openssl curl procps time
	# the Jinja2 oracle of the template tests and the local HTTP test server
	python3 python3-jinja2
	# copkg packages (zip) of the local back-end; the mysqldbs health check and its server
	libarchive-dev libmariadb-dev mariadb-server
	# network-namespace hosts of the health-check tests
	iproute2 iputils-ping busybox-static
	# Podman's Docker-compatible API, the docker resource handler's test cloud
	podman runc conmon netavark aardvark-dns slirp4netns containernetworking-plugins
	catatonit iptables uidmap
	# the REST service's HTTP server and its load benchmark
	libmicrohttpd-dev wrk
	# packaging: the .deb's system user (adduser), its man pages checked (groff)
	adduser groff-base
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

# the nova tests' OpenStack (Debian's Zed packages), installed by its own script: it keeps the
# packages' services from starting
bash "$(dirname "$0")/novapeer.sh" install

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run this script as root to install them" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
