#!/usr/bin/env bash
# novapeer.sh - the test cloud of the nova resource handler: a real OpenStack (Debian 12's
# Zed packages) on this machine, API objects only.
#
#   scripts/novapeer.sh install   apt packages (as root; a second run only checks)
#   scripts/novapeer.sh start     a fresh cloud in $NOVAPEER_DIR; prints where its env file is
#   scripts/novapeer.sh stop      ends the process groups start recorded, nothing else
#   scripts/novapeer.sh status    the recorded processes and their memory
#   scripts/novapeer.sh installed exit 0 when the packages are there
#   scripts/novapeer.sh fixture-start   what CTest's fixture runs: start (after a stop of a
#                                 cloud left running); without the packages and outside CI
#                                 ($CI unset) it starts nothing and the nova tests skip
#
# What runs: keystone (sqlite), placement (sqlite), glance (file store), neutron (ML2 with a
# tiny mechanism driver of our own that binds every port: there are no agents), nova-api,
# -conductor, -scheduler and -compute with the fake virt driver, rabbitmq and a MariaDB on a
# unix socket. Every TCP port is on 127.0.0.1 (15735 keystone, 15774 nova, 15696 neutron,
# 15792 glance, 15778 placement, 15680 rabbit). A server goes BUILD -> ACTIVE in seconds; there
# is no VM behind it. There is no volume service (cinder).
#
# After start, $NOVAPEER_DIR/novapeer.env (shell syntax) names: NOVAPEER_AUTH_URL, the user
# demo (password NOVAPEER_PASSWORD) in project demo (NOVAPEER_PROJECT_ID), the image "tiny"
# (NOVAPEER_IMAGE_ID), flavors m1.tiny and m1.small, the network "private" (NOVAPEER_NET_ID,
# 127.200.0.0/24) and the external network "public" (NOVAPEER_PUBLIC_NET_ID, 127.201.0.0/24,
# the floating IP pool) joined by a router.
#
# Environment: NOVAPEER_DIR (default /tmp/occo-novapeer; start wipes it), NOVAPEER_CACHE (the
# databases of a first start, copied by later ones: default /var/tmp/occo-novapeer-cache,
# "off" to disable).
set -euo pipefail

dir=${NOVAPEER_DIR:-/tmp/occo-novapeer}
case $dir in
/?*/?*) ;;
*) echo "novapeer: NOVAPEER_DIR must be an absolute path two levels deep (start wipes it)" >&2; exit 2 ;;
esac
[[ $dir != *..* ]] || { echo "novapeer: NOVAPEER_DIR must not hold '..'" >&2; exit 2; }
cache=${NOVAPEER_CACHE:-/var/tmp/occo-novapeer-cache}
pids=$dir/pids
sock=$dir/db/mysqld.sock
py=/usr/bin/python3 # Debian's own: the OpenStack modules live there
pw=occo-peer-pw
ks_url=http://127.0.0.1:15735/v3
nova_url=http://127.0.0.1:15774/v2.1
neutron_url=http://127.0.0.1:15696
glance_url=http://127.0.0.1:15792
placement_url=http://127.0.0.1:15778
amqp=15680

pkgs=(nova-api nova-conductor nova-scheduler placement-api glance-api neutron-server
	rabbitmq-server keystone mariadb-server sqlite3)

say() { echo "novapeer: $*" >&2; }
fail() { say "$*"; exit 1; }
t0=$(date +%s%N)
took() { awk -v a="$(date +%s%N)" -v b="$t0" 'BEGIN { printf "%.1f s", (a - b) / 1e9 }'; }

# poll SECONDS CMD...: until CMD succeeds
poll() {
	local until=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt "$until" ] || return 1
		sleep 0.2
	done
}

is_installed() {
	local p
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
	done
}

cmd_install() {
	if is_installed; then
		say "packages present"
		return
	fi
	[ "$(id -u)" -eq 0 ] || fail "run install as root"
	local guard=
	# no package script may start a service (rabbitmq would listen on every address)
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		guard=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	[ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
	say "installed in $(took)"
}

# spawn NAME CMD...: in a session of its own, its id recorded (it is also the group id)
spawn() {
	local name=$1
	shift
	setsid "$@" >"$dir/log/$name.out" 2>&1 </dev/null &
	echo $! >"$pids/$name"
}

# ---- configuration files

# creds SECTION USER: how a service authenticates to keystone
creds() {
	printf '[%s]\nauth_type = password\nauth_url = %s\nusername = %s\npassword = %s\n' \
		"$1" "$ks_url" "$2" "$pw"
	printf 'project_name = service\nuser_domain_name = Default\nproject_domain_name = Default\n'
	printf 'region_name = RegionOne\n'
}
mw() { creds keystone_authtoken "$1"; printf 'www_authenticate_uri = %s\nmemcached_servers =\n' "$ks_url"; }
db() { echo "mysql+pymysql://occo:occo@localhost/$1?unix_socket=$sock&charset=utf8"; }

configure() {
	mkdir -p "$dir"/{ks/keys,ks/creds,placement,glance/store,nova/state,nova/locks,neutron/state,neutron/locks,neutron/ext,rabbit/home,rabbit/db,rabbit/log,db}
	chmod 700 "$dir/ks/keys" "$dir/ks/creds"
	cat >"$dir/ks/keystone.conf" <<-EOF
		[DEFAULT]
		log_file = $dir/log/keystone.log
		[database]
		connection = sqlite:///$dir/ks/keystone.db
		[token]
		provider = fernet
		expiration = 3600
		[fernet_tokens]
		key_repository = $dir/ks/keys
		[fernet_receipts]
		key_repository = $dir/ks/keys
		[credential]
		key_repository = $dir/ks/creds
	EOF
	{
		printf '[DEFAULT]\nlog_file = %s/log/placement.log\n' "$dir"
		printf '[placement_database]\nconnection = sqlite:///%s/placement/placement.db\n' "$dir"
		printf '[api]\nauth_strategy = keystone\n'
		mw placement
	} >"$dir/placement/placement.conf"
	{
		cat <<-EOF
			[DEFAULT]
			bind_host = 127.0.0.1
			bind_port = 15792
			workers = 0
			log_file = $dir/log/glance.log
			[database]
			connection = $(db glance)
			[glance_store]
			stores = file
			default_store = file
			filesystem_store_datadir = $dir/glance/store/
			[paste_deploy]
			flavor = keystone
			config_file = /etc/glance/glance-api-paste.ini
		EOF
		mw glance
	} >"$dir/glance/glance-api.conf"
	# nova-compute reads a copy without database access (it goes through the conductor)
	{
		cat <<-EOF
			[DEFAULT]
			transport_url = rabbit://occo:occo@127.0.0.1:$amqp/
			compute_driver = fake.FakeDriver
			host = novapeer
			my_ip = 127.0.0.1
			state_path = $dir/nova/state
			instances_path = $dir/nova/state/instances
			enabled_apis = osapi_compute
			osapi_compute_listen = 127.0.0.1
			osapi_compute_listen_port = 15774
			osapi_compute_workers = 1
			default_log_levels = amqp=WARN,amqplib=WARN,sqlalchemy=WARN,oslo_messaging=ERROR,keystonemiddleware=WARN,routes.middleware=WARN,stevedore=WARN,keystoneauth=WARN,urllib3.connectionpool=WARN
			[wsgi]
			api_paste_config = /etc/nova/api-paste.ini
			[api]
			auth_strategy = keystone
			[scheduler]
			workers = 1
			[conductor]
			workers = 1
			[quota]
			instances = -1
			cores = -1
			ram = -1
			[oslo_concurrency]
			lock_path = $dir/nova/locks
			[oslo_messaging_notifications]
			driver = noop
			[vnc]
			enabled = false
			[spice]
			enabled = false
			[glance]
			region_name = RegionOne
		EOF
		mw nova
		creds placement placement
		creds neutron neutron
	} >"$dir/nova/compute.conf"
	{
		cat "$dir/nova/compute.conf"
		printf '[api_database]\nconnection = %s\n[database]\nconnection = %s\n' "$(db nova_api)" "$(db nova)"
	} >"$dir/nova/nova.conf"
	{
		cat <<-EOF
			[DEFAULT]
			bind_host = 127.0.0.1
			bind_port = 15696
			core_plugin = ml2
			service_plugins = router
			auth_strategy = keystone
			transport_url = rabbit://occo:occo@127.0.0.1:$amqp/
			api_workers = 0
			rpc_workers = 1
			rpc_state_report_workers = 0
			state_path = $dir/neutron/state
			log_file = $dir/log/neutron.log
			api_paste_config = /etc/neutron/api-paste.ini
			notify_nova_on_port_data_changes = true
			notify_nova_on_port_status_changes = false
			dhcp_agent_notification = false
			[database]
			connection = $(db neutron)
			[oslo_concurrency]
			lock_path = $dir/neutron/locks
			[oslo_messaging_notifications]
			driver = noop
			[ml2]
			type_drivers = flat,local
			tenant_network_types = local
			mechanism_drivers = occo_anyhost
			extension_drivers = port_security
			[ml2_type_flat]
			flat_networks = *
			[securitygroup]
			firewall_driver = noop
			[quotas]
			quota_port = -1
			quota_network = -1
			quota_subnet = -1
			quota_floatingip = -1
		EOF
		mw neutron
		creds nova nova
	} >"$dir/neutron/neutron.conf"
	# Without agents no port would ever be bound (the server would go to ERROR): this driver
	# binds every port on any host. Registered as an entry point of a dist-info of its own.
	local ext=$dir/neutron/ext
	mkdir -p "$ext/occo_anyhost-0.1.dist-info"
	cat >"$ext/occo_anyhost.py" <<-'EOF'
		"""ML2 driver of the occopus-c test cloud: every port is bound, on any host."""
		from neutron_lib import constants
		from neutron_lib.api.definitions import portbindings
		from neutron_lib.plugins.ml2 import api


		class AnyHost(api.MechanismDriver):
		    def initialize(self):
		        # map every model now, before neutron forks its workers
		        from neutron.db.migration.models import head  # noqa: F401
		        import sqlalchemy.orm
		        sqlalchemy.orm.configure_mappers()

		    def bind_port(self, context):
		        segments = context.segments_to_bind
		        if not segments:
		            return
		        context.set_binding(segments[0][api.ID], portbindings.VIF_TYPE_OVS,
		                            {portbindings.CAP_PORT_FILTER: True},
		                            status=constants.PORT_STATUS_ACTIVE)
	EOF
	printf 'Metadata-Version: 2.1\nName: occo-anyhost\nVersion: 0.1\n' >"$ext/occo_anyhost-0.1.dist-info/METADATA"
	printf '[neutron.ml2.mechanism_drivers]\nocco_anyhost = occo_anyhost:AnyHost\n' \
		>"$ext/occo_anyhost-0.1.dist-info/entry_points.txt"
	cat >"$dir/rabbit/rabbitmq.conf" <<-EOF
		listeners.tcp.1 = 127.0.0.1:$amqp
		default_user = occo
		default_pass = occo
		loopback_users = none
		disk_free_limit.absolute = 50MB
		log.console = false
	EOF
	echo "[]." >"$dir/rabbit/plugins"
	: >"$dir/rabbit/env.conf"
}

rabbit() { # rabbit CMD...: with the environment of our node
	HOME=$dir/rabbit/home RABBITMQ_CONF_ENV_FILE=$dir/rabbit/env.conf \
		RABBITMQ_NODENAME=occopeer@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT=$amqp RABBITMQ_DIST_PORT=15681 ERL_EPMD_ADDRESS=127.0.0.1 \
		ERL_EPMD_PORT=15682 RABBITMQ_CONFIG_FILE=$dir/rabbit/rabbitmq.conf \
		RABBITMQ_ENABLED_PLUGINS_FILE=$dir/rabbit/plugins RABBITMQ_MNESIA_BASE=$dir/rabbit/db \
		RABBITMQ_LOG_BASE=$dir/rabbit/log RABBITMQ_PID_FILE=$dir/rabbit/pid \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" "$@"
}

sql() { mariadb --no-defaults -S "$sock" -uroot "$@"; }
db_start() {
	spawn mariadb /usr/sbin/mariadbd --no-defaults --datadir="$dir/db/data" --socket="$sock" \
		--skip-networking --user=root --pid-file="$dir/db/pid" --log-error="$dir/log/mariadb.err" \
		--skip-log-bin --skip-name-resolve --innodb-log-file-size=8M --innodb-buffer-pool-size=64M \
		--innodb-flush-log-at-trx-commit=2 --max-connections=500 \
		--character-set-server=utf8mb3 --collation-server=utf8mb3_general_ci
	poll 30 sql -e 'select 1' || fail "mariadb did not start: $dir/log/mariadb.err"
}
db_stop() {
	[ -f "$pids/mariadb" ] || return 0
	sql -e shutdown >/dev/null 2>&1 || mariadb-admin --no-defaults -S "$sock" -uroot shutdown >/dev/null 2>&1 || true
	end_group mariadb
}

# The databases of every service, from nothing.
make_databases() {
	mariadb-install-db --no-defaults --datadir="$dir/db/data" --user=root \
		--auth-root-authentication-method=normal --skip-test-db --innodb-log-file-size=8M \
		>"$dir/log/mariadb-install.log" 2>&1
	db_start
	sql -e "CREATE DATABASE nova_api; CREATE DATABASE nova; CREATE DATABASE nova_cell0;
		CREATE DATABASE neutron; CREATE DATABASE glance;
		CREATE USER 'occo'@'localhost' IDENTIFIED BY 'occo'; GRANT ALL ON *.* TO 'occo'@'localhost';"
	local ks=(keystone-manage --config-file "$dir/ks/keystone.conf") n=(nova-manage --config-file "$dir/nova/nova.conf")
	(
		"${ks[@]}" db_sync
		"${ks[@]}" fernet_setup --keystone-user root --keystone-group root
		"${ks[@]}" credential_setup --keystone-user root --keystone-group root
		"${ks[@]}" bootstrap --bootstrap-password "$pw" --bootstrap-region-id RegionOne \
			--bootstrap-admin-url "$ks_url/" --bootstrap-public-url "$ks_url/" \
			--bootstrap-internal-url "$ks_url/"
		# without WAL keystone answers some writes with "database is locked"
		sqlite3 "$dir/ks/keystone.db" 'PRAGMA journal_mode=WAL;'
	) >"$dir/log/db-keystone.log" 2>&1 &
	local j1=$!
	(placement-manage --config-file "$dir/placement/placement.conf" db sync &&
		sqlite3 "$dir/placement/placement.db" 'PRAGMA journal_mode=WAL;') >"$dir/log/db-placement.log" 2>&1 &
	local j2=$!
	glance-manage --config-file "$dir/glance/glance-api.conf" db_sync >"$dir/log/db-glance.log" 2>&1 &
	local j3=$!
	("${n[@]}" api_db sync && "${n[@]}" cell_v2 map_cell0 --database_connection "$(db nova_cell0)" &&
		"${n[@]}" cell_v2 create_cell --name=cell1 && "${n[@]}" db sync) >"$dir/log/db-nova.log" 2>&1 &
	local j4=$!
	neutron-db-manage --config-file "$dir/neutron/neutron.conf" upgrade heads >"$dir/log/db-neutron.log" 2>&1 &
	local j5=$!
	wait $j1 || fail "keystone's database: $dir/log/db-keystone.log"
	wait $j2 || fail "placement's database: $dir/log/db-placement.log"
	wait $j3 || fail "glance's database: $dir/log/db-glance.log"
	wait $j4 || fail "nova's databases: $dir/log/db-nova.log"
	wait $j5 || fail "neutron's database: $dir/log/db-neutron.log"
}

cell1() { sql -N -B nova -e "$1"; }
conductor_up() { [ "$(cell1 "select count(*) from services where \`binary\`='nova-conductor'")" = 1 ]; }
compute_up() { [ "$(cell1 'select count(*) from compute_nodes where deleted=0')" = 1 ]; }

# REST set-up (python: one process for many calls). $1: "register" (users, services,
# endpoints) or "seed" (flavors, image, networks, router); prints shell lines for the env file.
rest() {
	OCCO_KS=$ks_url OCCO_PW=$pw OCCO_NOVA=$nova_url OCCO_NEUTRON=$neutron_url \
		OCCO_GLANCE=$glance_url OCCO_PLACEMENT=$placement_url $py - "$1" <<-'EOF'
		import json, os, sys, time, urllib.error, urllib.request

		env = os.environ
		def call(method, url, body=None, token=None, raw=None, ctype='application/json'):
		    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
		    req = urllib.request.Request(url, data=data, method=method)
		    req.add_header('Content-Type', ctype)
		    if token:
		        req.add_header('X-Auth-Token', token)
		    for attempt in range(20):
		        try:
		            with urllib.request.urlopen(req, timeout=60) as r:
		                text = r.read()
		                return r.headers, (json.loads(text) if text else None)
		        except urllib.error.HTTPError as e:
		            if e.code < 500 or attempt == 19:
		                sys.exit('%s %s: HTTP %d %s' % (method, url, e.code, e.read()[:300]))
		        except (urllib.error.URLError, ConnectionError):
		            if attempt == 19:
		                raise
		        time.sleep(0.5)

		def token(user, project):
		    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
		        'name': user, 'domain': {'id': 'default'}, 'password': env['OCCO_PW']}}},
		        'scope': {'project': {'name': project, 'domain': {'id': 'default'}}}}}
		    h, _ = call('POST', env['OCCO_KS'] + '/auth/tokens', body)
		    return h['X-Subject-Token']

		ks = env['OCCO_KS']
		t = token('admin', 'admin')
		if sys.argv[1] == 'register':
		    role = lambda n: call('GET', ks + '/roles?name=' + n, token=t)[1]['roles'][0]['id']
		    admin, member = role('admin'), role('member')
		    project = lambda n: call('POST', ks + '/projects', {'project': {'name': n, 'domain_id': 'default'}}, t)[1]['project']['id']
		    service, demo = project('service'), project('demo')
		    def user(name, proj, r):
		        uid = call('POST', ks + '/users', {'user': {'name': name, 'domain_id': 'default', 'password': env['OCCO_PW']}}, t)[1]['user']['id']
		        call('PUT', '%s/projects/%s/users/%s/roles/%s' % (ks, proj, uid, r), token=t)
		    for u in ('nova', 'placement', 'glance', 'neutron'):
		        user(u, service, admin)
		    user('demo', demo, member)
		    for name, kind, url in (('nova', 'compute', env['OCCO_NOVA']), ('placement', 'placement', env['OCCO_PLACEMENT']),
		                            ('glance', 'image', env['OCCO_GLANCE']), ('neutron', 'network', env['OCCO_NEUTRON'])):
		        sid = call('POST', ks + '/services', {'service': {'name': name, 'type': kind}}, t)[1]['service']['id']
		        for i in ('public', 'internal', 'admin'):
		            call('POST', ks + '/endpoints', {'endpoint': {'service_id': sid, 'interface': i, 'region_id': 'RegionOne', 'url': url}}, t)
		    print('NOVAPEER_PROJECT_ID=' + demo)
		    sys.exit(0)
		nova, neutron, glance = env['OCCO_NOVA'], env['OCCO_NEUTRON'], env['OCCO_GLANCE'] + '/v2'
		for name, ram, disk in (('m1.tiny', 64, 1), ('m1.small', 512, 5)):
		    call('POST', nova + '/flavors', {'flavor': {'name': name, 'vcpus': 1, 'ram': ram, 'disk': disk}}, t)
		img = call('POST', glance + '/images', {'name': 'tiny', 'disk_format': 'raw', 'container_format': 'bare', 'visibility': 'public'}, t)[1]['id']
		call('PUT', '%s/images/%s/file' % (glance, img), token=t, raw=b'\0' * 1024, ctype='application/octet-stream')
		net = lambda b: call('POST', neutron + '/v2.0/networks', {'network': b}, t)[1]['network']['id']
		sub = lambda n, name, cidr: call('POST', neutron + '/v2.0/subnets', {'subnet': {'name': name, 'network_id': n, 'ip_version': 4, 'cidr': cidr, 'enable_dhcp': False}}, t)[1]['subnet']['id']
		private = net({'name': 'private', 'shared': True})
		psub = sub(private, 'private-subnet', '127.200.0.0/24')
		public = net({'name': 'public', 'router:external': True, 'provider:network_type': 'flat', 'provider:physical_network': 'public'})
		sub(public, 'public-subnet', '127.201.0.0/24')
		router = call('POST', neutron + '/v2.0/routers', {'router': {'name': 'r1', 'external_gateway_info': {'network_id': public}}}, t)[1]['router']['id']
		call('PUT', '%s/v2.0/routers/%s/add_router_interface' % (neutron, router), {'subnet_id': psub}, t)
		print('NOVAPEER_IMAGE_ID=%s\nNOVAPEER_NET_ID=%s\nNOVAPEER_PUBLIC_NET_ID=%s' % (img, private, public))
	EOF
}

cmd_start() {
	is_installed || fail "the OpenStack packages are missing: run 'scripts/novapeer.sh install' as root"
	if compgen -G "$pids/*" >/dev/null; then
		fail "a cloud of $dir is running (scripts/novapeer.sh stop first)"
	fi
	rm -rf "$dir"
	mkdir -p "$dir/log" "$pids"
	trap 'say "start failed, stopping what runs (logs: $dir/log)"; cmd_stop' EXIT
	configure
	(
		rabbit spawn epmd /usr/bin/epmd -address 127.0.0.1 -port 15682
		sleep 0.3
		rabbit spawn rabbit /usr/lib/rabbitmq/bin/rabbitmq-server
	)
	local key=
	if [ "$cache" != off ]; then
		key=$cache/$( { dpkg-query -W "${pkgs[@]}"; echo "$dir"; cat "$0"; } | md5sum | cut -c1-16)
	fi
	if [ -n "$key" ] && [ -d "$key" ]; then
		cp -a "$key/." "$dir/"
		db_start
		say "databases copied from $key ($(took))"
	else
		make_databases
		if [ -n "$key" ]; then
			db_stop
			rm -rf "$key.new" && mkdir -p "$key.new"
			(cd "$dir" && cp -a --parents ks/keystone.db ks/keys ks/creds placement/placement.db db/data "$key.new/")
			find "$cache" -mindepth 1 -maxdepth 1 ! -name "${key##*/}.new" -exec rm -rf {} +
			mv "$key.new" "$key"
			db_start
		fi
		say "databases made ($(took))"
	fi
	OS_KEYSTONE_CONFIG_FILES=$dir/ks/keystone.conf spawn keystone /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port 15735
	OS_PLACEMENT_CONFIG_DIR=$dir/placement spawn placement /usr/bin/placement-api --host 127.0.0.1 --port 15778
	spawn glance /usr/bin/glance-api --config-file "$dir/glance/glance-api.conf"
	poll 60 curl -sf "$ks_url" || fail "keystone did not answer: $dir/log/keystone.log"
	# the services authenticate at start-up: their users must exist first
	rest register >"$dir/project.env" || fail "registering the services failed"
	say "keystone ready ($(took))"
	poll 60 rabbit /usr/lib/rabbitmq/bin/rabbitmqctl -q -n occopeer@localhost await_startup -t 2 ||
		fail "rabbitmq did not start: $dir/rabbit/log"
	PYTHONPATH=$dir/neutron/ext spawn neutron /usr/bin/neutron-server --config-file "$dir/neutron/neutron.conf"
	local c=$dir/nova/nova.conf s
	for s in conductor scheduler api; do
		spawn nova-$s /usr/bin/nova-$s --config-file "$c" --log-file "$dir/log/nova-$s.log"
	done
	poll 90 conductor_up || fail "nova-conductor did not start: $dir/log/nova-conductor.log"
	# /usr/bin/nova-compute comes with libvirt; its entry point is in python3-nova
	spawn nova-compute $py -c 'import sys; from nova.cmd.compute import main; sys.exit(main())' \
		--config-file "$dir/nova/compute.conf" --log-file "$dir/log/nova-compute.log"
	poll 60 curl -sf "$placement_url/" || fail "placement did not answer"
	poll 60 curl -sf "$glance_url/" || fail "glance did not answer"
	poll 90 curl -sf "$neutron_url/" || fail "neutron did not answer: $dir/log/neutron.log"
	poll 90 curl -sf "$nova_url/" || fail "nova-api did not answer: $dir/log/nova-api.log"
	poll 90 compute_up || fail "nova-compute did not register: $dir/log/nova-compute.log"
	nova-manage --config-file "$c" cell_v2 discover_hosts >"$dir/log/discover.log" 2>&1
	{
		echo "NOVAPEER_AUTH_URL=$ks_url"
		echo "NOVAPEER_AUTH_ROOT=http://127.0.0.1:15735"
		echo "NOVAPEER_USER=demo"
		echo "NOVAPEER_PASSWORD=$pw"
		echo "NOVAPEER_ADMIN_PASSWORD=$pw"
		echo "NOVAPEER_COMPUTE_URL=$nova_url"
		echo "NOVAPEER_NETWORK_URL=$neutron_url"
		cat "$dir/project.env"
		rest seed
	} >"$dir/novapeer.env.new" || fail "seeding the cloud failed"
	mv "$dir/novapeer.env.new" "$dir/novapeer.env"
	trap - EXIT
	say "cloud ready in $(took): $dir/novapeer.env"
}

alive() { ps -o stat= -s "$1" 2>/dev/null | grep -qv '^Z'; }
# end_group NAME: TERM its process group, KILL after 15 s
end_group() {
	local f=$pids/$1 p i
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	kill -TERM -- "-$p" 2>/dev/null || true
	for i in $(seq 150); do
		alive "$p" || break
		sleep 0.1
	done
	if alive "$p"; then
		kill -KILL -- "-$p" 2>/dev/null || true
	fi
	rm -f "$f"
}

cmd_stop() {
	local s
	rm -f "$dir/novapeer.env"
	[ -d "$pids" ] || { say "nothing runs in $dir"; return 0; }
	for s in nova-api nova-compute nova-scheduler nova-conductor neutron glance placement; do
		end_group $s &
	done
	wait
	if [ -f "$pids/rabbit" ]; then
		rabbit /usr/lib/rabbitmq/bin/rabbitmqctl -q -n occopeer@localhost stop >/dev/null 2>&1 || true
	fi
	for s in rabbit epmd keystone; do end_group $s; done
	db_stop
	say "stopped"
}

cmd_status() {
	local f p
	for f in "$pids"/*; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		printf '%-14s %-5s %6s MiB\n' "${f##*/}" "$(alive "$p" && echo up || echo down)" \
			"$(ps -o rss= -s "$p" 2>/dev/null | awk '{ s += $1 } END { print int(s / 1024) }')"
	done
}

cmd_fixture_start() {
	if ! is_installed && [ -z "${CI:-}" ]; then
		say "OpenStack packages missing (scripts/novapeer.sh install): the nova tests skip"
		return 0
	fi
	if compgen -G "$pids/*" >/dev/null; then
		cmd_stop
	fi
	cmd_start
}

case ${1:-} in
install) cmd_install ;;
fixture-start) cmd_fixture_start ;;
installed) is_installed ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) echo "usage: $0 install | installed | start | fixture-start | stop | status" >&2; exit 2 ;;
esac
