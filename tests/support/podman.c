/*
 * podman.c - a real Podman service for the docker tests (see podman.h).
 *
 * Configuration, as BACKENDS.md and reference/local-backends.sh found it works here: runc
 * (crun fails on these cgroups), default ulimits the runtime may set, a store, a libpod tmp
 * directory and a network configuration directory of the service's own. The networks are
 * netavark files written by hand (podman 4.3 cannot name a bridge): a fixed interface name
 * and a subnet reserved under /tmp/occo-podman-subnets, so services running at once do not
 * meet on one bridge.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "occo/util/alloc.h"
#include "occo/util/id.h"
#include "podman.h"
#include "testutil.h"

#define SUBNET_LOCKS "/tmp/occo-podman-subnets"
#define SUBNET_FIRST 100
#define SUBNET_COUNT 150

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- subnets ---- */

/* 1 if an interface has an address in 10.89.x.0/24 */
static int subnet_in_use(int x)
{
	struct ifaddrs *ifa, *i;
	int used = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in *a = (const void *)i->ifa_addr;
		uint32_t h;

		if (!a || a->sin_family != AF_INET)
			continue;
		h = ntohl(a->sin_addr.s_addr);
		if ((h >> 8) == ((10u << 16) | (89u << 8) | (unsigned)x))
			used = 1;
	}
	freeifaddrs(ifa);
	return used;
}

static char *lock_path(int x)
{
	return occo_asprintf("%s/%d", SUBNET_LOCKS, x);
}

/* Take the lock of subnet x: 0, or -1 when someone alive holds it. */
static int subnet_lock(int x)
{
	char *path = lock_path(x), buf[32];
	int fd, tries;

	for (tries = 0; tries < 2; tries++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

			if (write(fd, buf, (size_t)n) != n)
				(void)0;
			close(fd);
			free(path);
			return 0;
		}
		/* held: by a process that is gone? */
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			int pid;

			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			pid = atoi(buf);
			if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH))
				break;
			unlink(path);
		}
	}
	free(path);
	return -1;
}

static void subnet_unlock(int x)
{
	char *path = lock_path(x);

	unlink(path);
	free(path);
}

static int subnet_reserve(void)
{
	int i, x;

	mkdir(SUBNET_LOCKS, 0755);
	for (i = 0; i < SUBNET_COUNT; i++) {
		x = SUBNET_FIRST + (int)((getpid() + i) % SUBNET_COUNT);
		if (subnet_in_use(x))
			continue;
		if (subnet_lock(x) == 0)
			return x;
	}
	return -1;
}

/* ---- files ---- */

static void write_network(const char *dir, const char *name, const char *ifname, int x)
{
	unsigned char r[32];
	char id[65], *file, *text;
	size_t i;

	occo_random_bytes(r, sizeof(r), NULL);
	for (i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	file = occo_asprintf("%s.json", name);
	text = occo_asprintf("{\"name\": \"%s\", \"id\": \"%s\", \"driver\": \"bridge\", "
			     "\"network_interface\": \"%s\", \"created\": "
			     "\"2024-01-01T00:00:00Z\", \"subnets\": [{\"subnet\": "
			     "\"10.89.%d.0/24\", \"gateway\": \"10.89.%d.1\"}], "
			     "\"ipv6_enabled\": false, \"internal\": false, \"dns_enabled\": "
			     "false, \"ipam_options\": {\"driver\": \"host-local\"}}\n",
			     name, id, ifname, x, x);
	occo_test_write_file(dir, file, text);
	free(file);
	free(text);
}

static int run_quiet(struct occo_test_podman *p, char *const argv[])
{
	char *env[] = { p->conf_env, p->storage_env, NULL };
	char *out = NULL, *err = NULL;
	int rc = occo_test_run(p->dir, argv, env, &out, &err);

	if (rc != 0)
		fprintf(stderr, "%s failed (%d): %s%s\n", argv[0], rc, out, err);
	free(out);
	free(err);
	return rc;
}

int occo_test_busybox_tar(const char *tar_path, const struct occo_test_file *files)
{
	char *root = occo_test_tmpdir("rootfs");
	char *script = occo_asprintf(
		"set -e; cd '%s'; mkdir -p bin etc www tmp proc sys dev root; "
		"cp /bin/busybox bin/busybox; "
		"for a in $(bin/busybox --list); do [ \"$a\" = busybox ] || ln -sf busybox "
		"\"bin/$a\"; done; "
		"echo 'root:x:0:0:root:/root:/bin/sh' >etc/passwd; echo 'root:x:0:' >etc/group; "
		"echo hello-from-container >www/index.html",
		root);
	char *argv[] = { "sh", "-c", script, NULL };
	char *tar_argv[] = { "tar", "--numeric-owner", "-C", root,
			     "-cf", (char *)tar_path,  ".",  NULL };
	int rc = occo_test_run(NULL, argv, NULL, NULL, NULL);

	for (; rc == 0 && files && files->path; files++) {
		char *path = occo_asprintf("%s/%s", root, files->path);
		char *slash = strrchr(path, '/');
		FILE *f;

		*slash = '\0';
		{
			char *mk = occo_asprintf("mkdir -p '%s'", path);

			rc = system(mk);
			free(mk);
		}
		*slash = '/';
		f = fopen(path, "w");
		if (!f) {
			rc = -1;
		} else {
			fputs(files->content, f);
			fclose(f);
			chmod(path, files->mode);
		}
		free(path);
	}
	if (rc == 0)
		rc = occo_test_run(NULL, tar_argv, NULL, NULL, NULL);
	occo_test_rmtree(root);
	free(root);
	free(script);
	return rc == 0 ? 0 : -1;
}

/* ---- the API, blocking (libcurl easy) ---- */

struct body {
	char *data;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct body *b = ud;

	b->data = occo_realloc(b->data, b->len + size * n + 1);
	memcpy(b->data + b->len, ptr, size * n);
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

static int api_call(const char *sock, const char *base, const char *method, const char *path,
		    const char *body, char **resp, size_t *resp_len)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct body b = { occo_strdup(""), 0 };
	char *url = occo_asprintf("%s%s", base, path);
	long status = -1;

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (sock)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	if (resp_len)
		*resp_len = b.len;
	if (resp)
		*resp = b.data;
	else
		free(b.data);
	return (int)status;
}

int occo_test_podman_api(const struct occo_test_podman *p, const char *method, const char *path,
			 const char *body, char **resp, size_t *resp_len)
{
	return api_call(p->sock, "http://d/v1.41", method, path, body, resp, resp_len);
}

static char *escape(const char *s)
{
	CURL *c = curl_easy_init();
	char *e = curl_easy_escape(c, s, 0), *out = occo_strdup(e);

	curl_free(e);
	curl_easy_cleanup(c);
	return out;
}

json_t *occo_test_podman_ids(const struct occo_test_podman *p, const char *label)
{
	char *f = occo_asprintf("{\"label\":[\"%s\"]}", label), *ef = escape(f);
	char *path = occo_asprintf("/containers/json?all=1&filters=%s", ef), *resp = NULL;
	json_t *list, *c, *out = json_array();
	size_t i;

	if (occo_test_podman_api(p, "GET", path, NULL, &resp, NULL) == 200) {
		list = json_loads(resp, 0, NULL);
		json_array_foreach (list, i, c)
			json_array_append(out, json_object_get(c, "Id"));
		json_decref(list);
	}
	free(resp);
	free(path);
	free(ef);
	free(f);
	return out;
}

void occo_test_podman_remove(const struct occo_test_podman *p, const char *label)
{
	json_t *ids = occo_test_podman_ids(p, label), *id;
	size_t i;

	json_array_foreach (ids, i, id) {
		char *path = occo_asprintf("/containers/%s?force=1&v=1", json_string_value(id));

		occo_test_podman_api(p, "DELETE", path, NULL, NULL, NULL);
		free(path);
	}
	json_decref(ids);
}

char *occo_test_podman_logs(const struct occo_test_podman *p, const char *id, size_t *len)
{
	char *path = occo_asprintf("/containers/%s/logs?stdout=1&stderr=1", id), *resp = NULL;

	occo_test_podman_api(p, "GET", path, NULL, &resp, len);
	free(path);
	return resp;
}

/* ---- processes ---- */

static int spawn(const struct occo_test_podman *p, char *const argv[], const char *log)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGTERM); /* a test that crashes takes it along */
		int fi = open("/dev/null", O_RDONLY);

		dup2(fi, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (p) {
			putenv(p->conf_env);
			putenv(p->storage_env);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop_pid(int pid)
{
	int i, status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Wait until base/_ping answers (sock may be NULL: TCP), while pid lives. */
static int wait_ping(const char *sock, const char *base, int pid)
{
	int i, status;

	for (i = 0; i < 600; i++) {
		if (api_call(sock, base, "GET", "/_ping", NULL, NULL, NULL) == 200)
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		sleep_ms(50);
	}
	return -1;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int occo_test_podman_start(struct occo_test_podman *p)
{
	char *conf, *storage, *tar, *netdir, *url, *log;
	int x;

	memset(p, 0, sizeof(*p));
	p->reserved[0] = p->reserved[1] = -1;
	if (!occo_test_have_program("podman")) {
		fprintf(stderr, "podman is not installed: skipped\n");
		return OCCO_TEST_SKIP;
	}
	p->dir = occo_test_tmpdir("podman");
	p->sock = occo_asprintf("%s/podman.sock", p->dir);
	p->endpoint = occo_asprintf("unix://%s", p->sock);
	p->image = occo_strdup("localhost/busybox");
	p->tag = occo_strdup("test");
	p->network = occo_strdup("occotest");
	p->side_network = occo_strdup("occoside");
	netdir = occo_asprintf("%s/networks", p->dir);
	mkdir(netdir, 0755);
	for (x = 0; x < 2; x++) {
		char ifname[16];

		p->reserved[x] = subnet_reserve();
		if (p->reserved[x] < 0) {
			fprintf(stderr, "no free subnet 10.89.%d-%d.0/24\n", SUBNET_FIRST,
				SUBNET_FIRST + SUBNET_COUNT - 1);
			free(netdir);
			return -1;
		}
		snprintf(ifname, sizeof(ifname), "occopm%d%s", p->reserved[x], x ? "s" : "");
		write_network(netdir, x ? p->side_network : p->network, ifname, p->reserved[x]);
	}
	p->subnet = occo_asprintf("10.89.%d.0/24", p->reserved[0]);
	p->side_subnet = occo_asprintf("10.89.%d.0/24", p->reserved[1]);
	p->subnet_prefix = occo_asprintf("10.89.%d.", p->reserved[0]);
	p->side_prefix = occo_asprintf("10.89.%d.", p->reserved[1]);
	conf = occo_asprintf("[containers]\n"
			     "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
			     "[network]\n"
			     "network_config_dir = \"%s\"\n"
			     "default_network = \"%s\"\n"
			     "[engine]\n"
			     "runtime = \"runc\"\n"
			     "tmp_dir = \"%s/libpod\"\n"
			     "events_logger = \"file\"\n",
			     netdir, p->network, p->dir);
	storage = occo_asprintf("[storage]\n"
				"driver = \"overlay\"\n"
				"runroot = \"%s/run\"\n"
				"graphroot = \"%s/graph\"\n",
				p->dir, p->dir);
	occo_test_write_file(p->dir, "containers.conf", conf);
	occo_test_write_file(p->dir, "storage.conf", storage);
	free(conf);
	free(storage);
	free(netdir);
	p->conf_env = occo_asprintf("CONTAINERS_CONF=%s/containers.conf", p->dir);
	p->storage_env = occo_asprintf("CONTAINERS_STORAGE_CONF=%s/storage.conf", p->dir);

	/* the offline image */
	tar = occo_asprintf("%s/busybox-rootfs.tar", p->dir);
	if (occo_test_busybox_tar(tar, NULL) < 0) {
		fprintf(stderr, "cannot build the busybox rootfs\n");
		free(tar);
		return -1;
	}
	{
		char *ref = occo_asprintf("%s:%s", p->image, p->tag);
		char *argv[] = { "podman",   "import",	      "-q", "--change", "CMD [\"/bin/sh\"]",
				 "--change", "ENV PATH=/bin", tar,  ref,	NULL };
		int rc = run_quiet(p, argv);

		free(ref);
		free(tar);
		if (rc != 0)
			return -1;
	}

	/* the service */
	url = occo_asprintf("unix://%s", p->sock);
	log = occo_asprintf("%s/podman.log", p->dir);
	{
		char *argv[] = { "podman", "system", "service", "--time=0", url, NULL };

		p->pid = spawn(p, argv, log);
	}
	free(url);
	free(log);
	if (p->pid <= 0 || wait_ping(p->sock, "http://d", p->pid) < 0) {
		fprintf(stderr, "the podman service did not answer on %s (see %s/podman.log)\n",
			p->sock, p->dir);
		return -1;
	}
	return 0;
}

int occo_test_podman_listen_tcp(struct occo_test_podman *p)
{
	int port = free_port();
	char *url = occo_asprintf("tcp://127.0.0.1:%d", port);
	char *base = occo_asprintf("http://127.0.0.1:%d", port);
	char *log = occo_asprintf("%s/podman-tcp.log", p->dir);
	char *argv[] = { "podman", "system", "service", "--time=0", url, NULL };
	int rc = 0;

	p->tcp_pid = spawn(p, argv, log);
	if (p->tcp_pid <= 0 || wait_ping(NULL, base, p->tcp_pid) < 0) {
		fprintf(stderr, "the podman service did not answer on %s\n", url);
		rc = -1;
	}
	p->tcp_endpoint = url;
	free(base);
	free(log);
	return rc;
}

/* Unmount what the store may have left mounted under dir (nothing, normally). */
static void unmount_under(const char *dir)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char line[4096], what[1024], where[1024];
	size_t n = strlen(dir);

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%1023s %1023s", what, where) == 2 && !strncmp(where, dir, n))
			umount2(where, MNT_DETACH);
	}
	if (f)
		fclose(f);
}

void occo_test_podman_stop(struct occo_test_podman *p)
{
	int x;

	if (p->pid > 0) {
		char *resp = NULL;
		json_t *list, *c;
		size_t i;

		if (occo_test_podman_api(p, "GET", "/containers/json?all=1", NULL, &resp, NULL) ==
		    200) {
			list = json_loads(resp, 0, NULL);
			json_array_foreach (list, i, c) {
				char *path =
					occo_asprintf("/containers/%s?force=1&v=1",
						      json_string_value(json_object_get(c, "Id")));

				occo_test_podman_api(p, "DELETE", path, NULL, NULL, NULL);
				free(path);
			}
			json_decref(list);
		}
		free(resp);
	}
	stop_pid(p->tcp_pid);
	stop_pid(p->pid);
	if (p->dir) {
		unmount_under(p->dir);
		occo_test_rmtree(p->dir);
	}
	for (x = 0; x < 2; x++)
		if (p->reserved[x] >= 0)
			subnet_unlock(p->reserved[x]);
	free(p->dir);
	free(p->sock);
	free(p->endpoint);
	free(p->image);
	free(p->tag);
	free(p->network);
	free(p->side_network);
	free(p->subnet);
	free(p->side_subnet);
	free(p->subnet_prefix);
	free(p->side_prefix);
	free(p->tcp_endpoint);
	free(p->conf_env);
	free(p->storage_env);
	memset(p, 0, sizeof(*p));
	p->reserved[0] = p->reserved[1] = -1;
}

int occo_test_file_server_start(const char *dir, int *port, int *pid)
{
	char *addr;
	int i, p = free_port();

	addr = occo_asprintf("127.0.0.1:%d", p);
	{
		char *argv[] = { "busybox", "httpd", "-f", "-p", addr, "-h", (char *)dir, NULL };

		*pid = spawn(NULL, argv, "/dev/null");
	}
	free(addr);
	for (i = 0; i < 200; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok) {
			*port = p;
			return 0;
		}
		sleep_ms(10);
	}
	occo_test_file_server_stop(*pid);
	return -1;
}

void occo_test_file_server_stop(int pid)
{
	stop_pid(pid);
}
