/*
 * podman.h - a real Podman service for the tests of the docker resource handler: its Docker
 * compatible API on a unix socket in a temporary directory, with a store, a configuration and
 * two bridge networks of its own (BACKENDS.md, Podman row), and an offline busybox image.
 *
 * Each service gets its own subnets (10.89.X.0/24, reserved with a lock file while it runs)
 * and bridge interfaces, so two test programs that run at once never share addresses. The
 * default network (containers that name none) is `network`; `side_network` is a second one.
 *
 * Everything here blocks: it is for test programs, not for the loop under test.
 */
#ifndef OCCO_TEST_PODMAN_H
#define OCCO_TEST_PODMAN_H

#include <stddef.h>

#include <jansson.h>

struct occo_test_podman {
	char *dir; /* everything lives under it */
	char *sock; /* the API socket */
	char *endpoint; /* "unix://<sock>" */
	char *image, *tag; /* the offline busybox image: "localhost/busybox", "test" */
	char *network, *side_network; /* names */
	char *subnet, *side_subnet; /* "10.89.X.0/24" */
	char *subnet_prefix, *side_prefix; /* "10.89.X." */
	char *tcp_endpoint; /* "tcp://127.0.0.1:<port>" once occo_test_podman_listen_tcp ran */
	int pid, tcp_pid;
	char *conf_env, *storage_env; /* "CONTAINERS_CONF=...", "CONTAINERS_STORAGE_CONF=..." */
	int reserved[2]; /* the X of each subnet */
};

/*
 * Start a service and wait until it answers /_ping. Returns 0; OCCO_TEST_SKIP (77) when
 * podman is not installed; -1 on failure (with a message on stderr).
 */
int occo_test_podman_start(struct occo_test_podman *p);

/* Remove every container of the service, stop it, release its subnets, remove its files. */
void occo_test_podman_stop(struct occo_test_podman *p);

/* A second listener of the same store on tcp://127.0.0.1:<free port>; 0 or -1. */
int occo_test_podman_listen_tcp(struct occo_test_podman *p);

/*
 * One API call (path under /v1.41, e.g. "/containers/json?all=1"), body JSON or NULL. Returns
 * the HTTP status (-1 when the service does not answer); *resp (may be NULL) gets the body,
 * malloc'd and NUL-terminated, *resp_len (may be NULL) its length.
 */
int occo_test_podman_api(const struct occo_test_podman *p, const char *method, const char *path,
			 const char *body, char **resp, size_t *resp_len);

/* The ids of the containers that carry label "k=v" (all states), a JSON array of strings. */
json_t *occo_test_podman_ids(const struct occo_test_podman *p, const char *label);

/* Force-remove every container that carries label "k=v". */
void occo_test_podman_remove(const struct occo_test_podman *p, const char *label);

/* What a container wrote to stdout and stderr so far (the log stream, headers included). */
char *occo_test_podman_logs(const struct occo_test_podman *p, const char *id, size_t *len);

/* One file of an image: its path in the rootfs, its content, its mode. */
struct occo_test_file {
	const char *path;
	const char *content;
	unsigned mode;
};

/*
 * Write a busybox rootfs tarball (busybox-static with its applets in /bin, /etc/passwd, and
 * `files`, terminated by a NULL path) to tar_path, for POST /images/create?fromSrc=.
 */
int occo_test_busybox_tar(const char *tar_path, const struct occo_test_file *files);

/* A static file server (busybox httpd) on 127.0.0.1 serving dir; *port and *pid set. */
int occo_test_file_server_start(const char *dir, int *port, int *pid);
void occo_test_file_server_stop(int pid);

#endif
