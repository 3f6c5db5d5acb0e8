/*
 * moto.h - a real moto EC2 server of the test's own (moto_server on a free loopback port),
 * with SigV4 checking on, and blocking signed calls to it for what a test checks.
 *
 * moto checks signatures only after INITIAL_NO_AUTH_ACTION_COUNT calls: the first ones make
 * an IAM user with an allow-all policy and an access key (start and every reset do), and from
 * then on a request must be signed with that key. AMI and key pair validation are on, so an
 * image id must come from moto's AMI list and a key name from CreateKeyPair.
 */
#ifndef OCCO_TEST_MOTO_H
#define OCCO_TEST_MOTO_H

#include <jansson.h>

#define OCCO_TEST_MOTO_REGION "us-east-1"

struct occo_test_moto {
	char *dir; /* holds its log */
	char *log; /* moto_server's output: one line per request */
	int pid; /* also its process group */
	int port;
	char *url; /* "http://127.0.0.1:<port>/" */
	char *access, *secret; /* the IAM user's key, made by start and by each reset */
};

/* 1 if moto_server is on PATH. */
int occo_test_moto_available(void);

/* Start it and make the IAM key; 0, or -1 with a message on stderr. */
int occo_test_moto_start(struct occo_test_moto *m);

/* Forget every object (POST /moto-api/reset) and make a new IAM key; 0 or -1. */
int occo_test_moto_reset(struct occo_test_moto *m);

/* Stop it (if running) and remove its directory. */
void occo_test_moto_stop(struct occo_test_moto *m);

/*
 * A blocking EC2 Query call signed with the IAM key: `form` is "Action=...&..." (encoded;
 * Version is added). Returns the HTTP status (-1: no answer); *body (may be NULL) gets the
 * answer, malloc'd.
 */
int occo_test_moto_ec2(const struct occo_test_moto *m, const char *form, char **body);

/*
 * The texts of every element named `name` in an XML answer, in document order, as a JSON
 * array of strings (new reference); [] when the answer is not XML.
 */
json_t *occo_test_xml_texts(const char *body, const char *name);

/* The first text of `name` in an answer (malloc'd), or NULL. */
char *occo_test_xml_text(const char *body, const char *name);

/*
 * An image id from moto's AMI list (an Amazon Linux HVM image; asking for all of them costs
 * seconds), malloc'd, or NULL.
 */
char *occo_test_moto_ami(const struct occo_test_moto *m);

/*
 * The instances tagged with an infrastructure id (occopus:infra_id), in any state, as a JSON
 * array of {id, dns, state, token, node, key_name, subnet_id, groups: [ids]} (new reference).
 */
json_t *occo_test_moto_instances(const struct occo_test_moto *m, const char *infra_id);

/* The user data of an instance, decoded (malloc'd), or NULL when it has none. */
char *occo_test_moto_user_data(const struct occo_test_moto *m, const char *instance_id);

/* Terminate an instance through the EC2 API, as a user would behind the orchestrator's back. */
int occo_test_moto_terminate(const struct occo_test_moto *m, const char *instance_id);

/* Requests moto_server has logged so far (its POSTs: the API calls made to it). */
long occo_test_moto_requests(const struct occo_test_moto *m);

#endif
