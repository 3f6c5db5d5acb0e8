/*
 * netns.h - hosts for the health-check tests: a network namespace of the test's own, joined to
 * this one by a veth pair on an unused 10.231.<n>.0/24 (BACKENDS.md), whose link the test can
 * take down; and busybox httpd serving a directory, on loopback or inside such a namespace.
 *
 * Everything is made with the `ip` and `busybox` programs and removed again by the matching
 * destroy/stop, which the tests call from their teardown so that a failed test cleans up too.
 */
#ifndef OCCO_TEST_NETNS_H
#define OCCO_TEST_NETNS_H

#include <stddef.h>

struct occo_test_netns {
	char name[32]; /* "occo-hc-<pid>-<k>" */
	char veth[16]; /* the host's end of the pair */
	char host_ip[16]; /* 10.231.<n>.1, on the host's end */
	char ip[16]; /* 10.231.<n>.2, the namespace's eth0 */
	int created;
};

/*
 * Make a namespace (root only). 0; or -1 when this machine does not allow it, with the reason
 * in `why` (for the message of a skipped test). Nothing is left behind on failure.
 */
int occo_test_netns_create(struct occo_test_netns *ns, char *why, size_t whylen);

/* Set the namespace's eth0 up (1) or down (0): a clean network failure. 0 or -1. */
int occo_test_netns_link(struct occo_test_netns *ns, int up);

/* Kill every process in it, delete the veth pair and the namespace. Safe to call twice. */
void occo_test_netns_destroy(struct occo_test_netns *ns);

struct occo_test_httpd {
	int pid;
	int port;
	char ip[16];
};

/*
 * Start `busybox httpd -f -p ip:port -h root` inside `ns` (NULL: in this namespace) and wait
 * until it accepts connections. port 0 picks a free port (only outside a namespace). 0 or -1
 * (with a message on stderr).
 */
int occo_test_httpd_start(struct occo_test_httpd *h, const struct occo_test_netns *ns,
			  const char *ip, int port, const char *root);

/* Stop it (if running). */
void occo_test_httpd_stop(struct occo_test_httpd *h);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int occo_test_free_port(void);

#endif
