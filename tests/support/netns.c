/*
 * netns.c - network namespaces and busybox httpd for the health-check tests (see netns.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "netns.h"
#include "testutil.h"

/* Run a program (argv NULL-terminated) quietly; its exit code, its stderr in *err if wanted. */
static int run(char **err, const char *a0, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return occo_test_run(NULL, argv, NULL, NULL, err);
}

/* Is 10.231.<n>.0/24 unused here (no address, no route)? */
static int subnet_free(int n)
{
	char *out = NULL, pat[32];
	char *argv[] = { "ip", "-4", "-o", "route", "show", "table", "all", NULL };
	int used;

	snprintf(pat, sizeof(pat), "10.231.%d.", n);
	if (occo_test_run(NULL, argv, NULL, &out, NULL) != 0) {
		free(out);
		return 0;
	}
	used = strstr(out, pat) != NULL;
	free(out);
	return !used;
}

int occo_test_netns_create(struct occo_test_netns *ns, char *why, size_t whylen)
{
	static int k;
	char *err = NULL, cidr[24];
	int n, i;

	memset(ns, 0, sizeof(*ns));
	if (geteuid() != 0) {
		snprintf(why, whylen, "network namespaces need root");
		return -1;
	}
	if (!occo_test_have_program("ip")) {
		snprintf(why, whylen, "the ip program (iproute2) is missing");
		return -1;
	}
	for (i = 0, n = -1; i < 150; i++) {
		int c = 100 + (int)((getpid() + i) % 150);

		if (subnet_free(c)) {
			n = c;
			break;
		}
	}
	if (n < 0) {
		snprintf(why, whylen, "no free subnet in 10.231.100.0-10.231.249.0");
		return -1;
	}
	snprintf(ns->name, sizeof(ns->name), "occo-hc-%d-%d", (int)getpid(), k);
	snprintf(ns->veth, sizeof(ns->veth), "hc%dv%d", (int)getpid() % 1000000, k++ % 10);
	snprintf(ns->host_ip, sizeof(ns->host_ip), "10.231.%d.1", n);
	snprintf(ns->ip, sizeof(ns->ip), "10.231.%d.2", n);
	if (run(&err, "ip", "netns", "add", ns->name, NULL) != 0) {
		snprintf(why, whylen, "ip netns add is not permitted here: %s", err ? err : "");
		why[strcspn(why, "\n")] = '\0';
		free(err);
		return -1;
	}
	free(err);
	ns->created = 1;
	snprintf(cidr, sizeof(cidr), "%s/24", ns->host_ip);
	if (run(NULL, "ip", "link", "add", ns->veth, "type", "veth", "peer", "name", "eth0",
		"netns", ns->name, NULL) ||
	    run(NULL, "ip", "addr", "add", cidr, "dev", ns->veth, NULL) ||
	    run(NULL, "ip", "link", "set", ns->veth, "up", NULL))
		goto fail;
	snprintf(cidr, sizeof(cidr), "%s/24", ns->ip);
	if (run(NULL, "ip", "-n", ns->name, "addr", "add", cidr, "dev", "eth0", NULL) ||
	    run(NULL, "ip", "-n", ns->name, "link", "set", "eth0", "up", NULL) ||
	    run(NULL, "ip", "-n", ns->name, "link", "set", "lo", "up", NULL))
		goto fail;
	return 0;
fail:
	snprintf(why, whylen, "cannot set up a veth pair for namespace %s", ns->name);
	occo_test_netns_destroy(ns);
	return -1;
}

int occo_test_netns_link(struct occo_test_netns *ns, int up)
{
	return run(NULL, "ip", "-n", ns->name, "link", "set", "eth0", up ? "up" : "down", NULL) ? -1
												: 0;
}

void occo_test_netns_destroy(struct occo_test_netns *ns)
{
	char *out = NULL, *p, *end;
	char *argv[] = { "ip", "netns", "pids", ns->name, NULL };

	if (!ns->created)
		return;
	/* a namespace goes away only when no process is left in it */
	if (occo_test_run(NULL, argv, NULL, &out, NULL) == 0) {
		for (p = out; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
	}
	free(out);
	run(NULL, "ip", "link", "del", ns->veth, NULL);
	run(NULL, "ip", "netns", "del", ns->name, NULL);
	ns->created = 0;
}

int occo_test_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Does ip:port accept a TCP connection within 200 ms? */
static int accepts(const char *ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd pfd;
	int fd, ok = 0, e = 0;
	socklen_t el = sizeof(e);

	inet_pton(AF_INET, ip, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ok = 1;
	} else if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 200) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0)
			ok = e == 0;
	}
	close(fd);
	return ok;
}

int occo_test_httpd_start(struct occo_test_httpd *h, const struct occo_test_netns *ns,
			  const char *ip, int port, const char *root)
{
	char listen[64];
	pid_t pid;
	int i;

	memset(h, 0, sizeof(*h));
	if (!port)
		port = occo_test_free_port();
	if (port <= 0)
		return -1;
	h->port = port;
	snprintf(h->ip, sizeof(h->ip), "%s", ip);
	snprintf(listen, sizeof(listen), "%s:%d", ip, port);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (ns)
			execlp("ip", "ip", "netns", "exec", ns->name, "busybox", "httpd", "-f",
			       "-p", listen, "-h", root, (char *)NULL);
		else
			execlp("busybox", "busybox", "httpd", "-f", "-p", listen, "-h", root,
			       (char *)NULL);
		_exit(127);
	}
	h->pid = pid;
	for (i = 0; i < 250; i++) {
		int status;

		if (accepts(ip, port))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "busybox httpd on %s exited (status %d)\n", listen, status);
			h->pid = 0;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "busybox httpd on %s does not accept connections\n", listen);
	occo_test_httpd_stop(h);
	return -1;
}

void occo_test_httpd_stop(struct occo_test_httpd *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
	}
}
