/*
 * novapeer.h - the test cloud of the nova tests: the real OpenStack that scripts/novapeer.sh
 * starts (CTest's fixture "novapeer" does, once for every nova test), and blocking calls to it
 * for what a test checks or does behind the orchestrator's back.
 *
 * The cloud is found through $NOVAPEER_DIR/novapeer.env (default /tmp/occo-novapeer). When it
 * is not running: outside CI (no $CI) and with the OpenStack packages missing, the test is
 * skipped; otherwise it fails.
 */
#ifndef OCCO_TEST_NOVAPEER_H
#define OCCO_TEST_NOVAPEER_H

#include <jansson.h>

struct occo_test_nova {
	char *auth_url; /* Keystone, .../v3 */
	char *compute, *network; /* Nova .../v2.1, Neutron (no /v2.0) */
	char *user, *password, *project_id;
	char *image_id, *net_id, *public_net_id;
	char *token; /* of the demo user, scoped to its project */
	char *admin_token; /* of admin, scoped to project admin */
};

/*
 * Read the env file and get a token. Returns 0; exits 77 (skipped) when the cloud is absent
 * and may be (see above); -1 with a message on stderr when it is absent and must not be.
 */
int occo_test_nova_open(struct occo_test_nova *n);
void occo_test_nova_close(struct occo_test_nova *n);

/*
 * A blocking call as the demo user: `base` is n->compute or n->network, `path` is appended,
 * `body` (may be NULL) is JSON. Returns the HTTP status (-1: no answer); *out (may be NULL)
 * gets the answer parsed (NULL when empty or not JSON).
 */
int occo_test_nova_call(struct occo_test_nova *n, const char *method, const char *base,
			const char *path, const char *body, json_t **out);

/* The same as admin (project admin). */
int occo_test_nova_admin_call(struct occo_test_nova *n, const char *method, const char *base,
			      const char *path, const char *body, json_t **out);

/* The servers tagged with an infrastructure id (occopus-infra-<id>), in any state but gone. */
json_t *occo_test_nova_servers(struct occo_test_nova *n, const char *infra_id);

/* The project's floating IPs. */
json_t *occo_test_nova_fips(struct occo_test_nova *n);

/* A server's user data, decoded (asked for as admin: users cannot see it), or NULL. */
char *occo_test_nova_user_data(struct occo_test_nova *n, const char *server_id);

/* Delete a server and wait until it is gone (404), as a user would behind our back. */
int occo_test_nova_delete(struct occo_test_nova *n, const char *server_id);

#endif
