/*
 * ec2_query.h - the pieces of the EC2 Query API that the ec2 plugin (ec2.c) uses and that can
 * be tested without a cloud: form encoding, base64, reading instances and errors out of the
 * XML answers, and what an error means (bad credentials, throttling, ...).
 */
#ifndef OCCO_RH_EC2_QUERY_H
#define OCCO_RH_EC2_QUERY_H

#include <stddef.h>

#include <jansson.h>

#include "occo/resourcehandler/rh.h"
#include "occo/util/buf.h"
#include "occo/util/err.h"

#define RH__EC2_VERSION "2016-11-15"
/* The tags occopus-c puts on an instance. */
#define RH__EC2_TAG_INFRA "occopus:infra_id"
#define RH__EC2_TAG_NODE "occopus:node_name"
#define RH__EC2_TAG_NODE_ID "occopus:node_id"
#define RH__EC2_TAG_TOKEN "occopus:token"

/*
 * Append "&key=value" (no '&' when b is empty) to a form body, both encoded as SigV4 wants:
 * everything but A-Z a-z 0-9 - _ . ~ as %XX. Fails with -OCCO_ETOOBIG past b->max.
 */
int rh__ec2_param(struct occo_buf *b, const char *key, const char *value, struct occo_err *err);
/* The same with a formatted key ("Filter.1.Value.%zu"). */
int rh__ec2_paramf(struct occo_buf *b, const char *value, struct occo_err *err, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/* Standard base64 of n bytes, with padding; the caller frees it. */
char *rh__ec2_base64(const void *data, size_t n);

/* The Occopus state of an EC2 state name (OCCOPUS.md 4.3); RH_UNKNOWN for others. */
enum rh_state rh__ec2_state(const char *name);

/* One instance of an answer; every field owned. */
struct rh__ec2_inst {
	char *id;
	char *token; /* the RH__EC2_TAG_TOKEN tag, or NULL */
	char *state_name; /* EC2's ("running"), or NULL */
	enum rh_state state;
	json_t *addresses; /* [public DNS name, public IP, private IP]: non-empty, no repeats */
	char *private_address; /* or NULL */
	char *message; /* why, when the instance is not pending or running (or its state is
			  unknown), or NULL */
};

void rh__ec2_inst_release(struct rh__ec2_inst *v);

/* A growing list of instances. */
struct rh__ec2_insts {
	struct rh__ec2_inst *v;
	size_t n, cap;
};

void rh__ec2_insts_release(struct rh__ec2_insts *l);

/*
 * Read the instances of a DescribeInstances or RunInstances answer and append them to *out
 * (at most `max` in all: more is -OCCO_ETOOBIG). *next_token gets DescribeInstances's
 * nextToken (malloc'd) or NULL. A body that is not such an answer is -OCCO_EPROTO.
 */
int rh__ec2_parse_instances(const char *body, size_t len, struct rh__ec2_insts *out, size_t max,
			    char **next_token, struct occo_err *err);

/* What an error answer is, for the caller's decisions. */
enum rh__ec2_fault {
	RH__EC2_F_OTHER = 0, /* the cloud's code and message, not retried */
	RH__EC2_F_AUTH, /* bad credentials */
	RH__EC2_F_TRANSIENT, /* throttling, no capacity, 5xx: retried by the core */
	RH__EC2_F_NOT_FOUND, /* InvalidInstanceID.NotFound */
};

/*
 * Turn an HTTP error answer (status >= 300) of `action` sent to `endpoint` into an error:
 * "<action>: bad credentials for '<endpoint>' (<Code>: <Message>)" (OCCO_EAUTH),
 * "<action>: <Code>: <Message>" (OCCO_ELIMIT for throttling and capacity, OCCO_EREMOTE for
 * the rest), or "<action>: HTTP <status> from '<endpoint>'" when the body says nothing. The
 * cloud's words are cut to a few hundred bytes and cleaned of control characters.
 */
enum rh__ec2_fault rh__ec2_error(int status, const char *body, size_t len, const char *action,
				 const char *endpoint, struct occo_err *err);

/* Replace every occurrence of `secret` (4 bytes or more) in msg by "***", in place. */
void rh__ec2_scrub(char *msg, const char *secret);

#endif
