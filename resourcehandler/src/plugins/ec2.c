/*
 * ec2.c - Amazon EC2 (and EC2-compatible clouds) through the EC2 Query API.
 *
 * Every call is a form POSTed to the section's `endpoint`, signed with SigV4 for `regionname`
 * and service "ec2" (libcurl does the signing, through the util HTTP client) with the
 * `accesskey` and `secretkey` of the node's auth_data. Answers are XML (ec2_query.c).
 *
 *   create  DescribeInstances by the token tag first: an instance that already carries the
 *           node's token is the answer (a retry, or a build killed after the cloud was
 *           asked). Otherwise RunInstances with MinCount = MaxCount = 1, ClientToken = the
 *           token, tags naming the infrastructure, the node, its id and its token (plus the
 *           user's `tags` and a Name), UserData = base64 of the rendered cloud-init. EC2 would
 *           answer a repeated ClientToken with the same instance by itself; moto (the test
 *           cloud) ignores ClientToken, and the lookup makes the plugin idempotent on both.
 *   drop    TerminateInstances of the instance id; without one, of every instance the token
 *           tag names (found as above). An id the cloud does not know counts as dropped.
 *   list    one DescribeInstances filtered by the infrastructure tag, pages followed.
 *
 * Calls are shared where EC2 allows it. Per endpoint, region and credentials (a "group"), the
 * token lookups of all creates and drops waiting at a moment go out as one DescribeInstances
 * (up to MAX_BATCH tokens), and so do the terminations (one TerminateInstances of up to
 * MAX_BATCH ids); while one such call is out, the next batch gathers. A batch that EC2
 * refuses as a whole (one unknown id fails every id of a TerminateInstances) is sent again
 * one node at a time, so one bad node never fails the others.
 *
 * Errors: RequestLimitExceeded, InsufficientInstanceCapacity, 5xx and transport timeouts are
 * transient (the core retries with backoff); AuthFailure, SignatureDoesNotMatch, 401 and 403
 * are "bad credentials for '<endpoint>'"; the rest carry the cloud's code and message. The
 * credentials never appear in a message: the cloud's words are scrubbed of them too.
 *
 * $OCCOPUS_EC2_PAGE_SIZE (5..1000, default 500) is the MaxResults of DescribeInstances.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/http.h"
#include "occo/util/log.h"
#include "../jobs.h"
#include "../rh_int.h"
#include "ec2_query.h"

#define MAX_BATCH 100 /* tokens or instance ids in one call */
#define MAX_USER_DATA 16384 /* what EC2 takes, before base64 */
#define MAX_USER_TAGS 45 /* EC2 takes 50 tags; we add 5 */
#define MAX_LISTED 100000 /* instances of one list */
#define MAX_PAGES 1000
#define DEF_PAGE_SIZE 500
#define FORM_MAX (1u << 20)
#define SMALL_BODY (1u << 20) /* RunInstances, TerminateInstances */
#define PAGE_BODY (32u << 20) /* one page of DescribeInstances */

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "regionname", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "image_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "instance_type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "key_name", 0, COMP_T_STR, 0 },
	{ "security_group_ids", 0, COMP_T_LIST, COMP_T_STR },
	{ "subnet_id", 0, COMP_T_STR, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "tags", 0, COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static void check(struct comp_check *c, const json_t *sec)
{
	static const char *const nonempty[] = { "endpoint", "regionname", "image_id",
						"instance_type" };
	const json_t *tags = json_object_get(sec, "tags"), *v;
	const char *k;
	size_t i;

	for (i = 0; i < sizeof(nonempty) / sizeof(nonempty[0]); i++) {
		v = json_object_get(sec, nonempty[i]);
		if (json_is_string(v) && !json_string_length(v))
			comp_check_error(c, sec, nonempty[i], "'%s' must not be empty",
					 nonempty[i]);
	}
	if (!json_is_object(tags))
		return;
	if (json_object_size(tags) > MAX_USER_TAGS)
		comp_check_error(c, sec, "tags", "'tags' holds %zu tags; EC2 takes at most %d here",
				 json_object_size(tags), MAX_USER_TAGS);
	json_object_foreach ((json_t *)tags, k, v) {
		if (!strncmp(k, "occopus:", 8) || !strncmp(k, "aws:", 4))
			comp_check_error(c, tags, k, "tag '%s' of 'tags' is reserved", k);
		else if (!*k)
			comp_check_error(c, tags, k, "a tag of 'tags' has an empty name");
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			comp_check_error(c, tags, k,
					 "tag '%s' of 'tags' must be a string, number or boolean",
					 k);
	}
}

static const struct comp_schema schema = { "resource", "ec2", keys, check };

/* ---- state ---- */

/* One endpoint, region and set of credentials: what one call may serve. */
struct grp {
	struct grp *next;
	char *url, *region, *access, *secret, *sigv4;
	struct rh__batch look; /* creates and drops waiting for a token lookup */
	struct rh__batch term; /* drops waiting for a TerminateInstances */
};

/* One core's plugin. */
struct ec2 {
	struct occo_http *http;
	struct grp *groups;
	struct rh__flush flush; /* sends what the batches hold */
	unsigned page_size;
	int refs; /* the core's (until stop), the timer's (until closed), one per call */
	int stopped;
};

/* One request (jobs.h). */
struct job {
	struct rh__job base;
	struct grp *grp;
	char **ids; /* drop: the instances to terminate */
	size_t nids;
	int solo; /* terminate without other jobs (a batch with it failed) */
};

enum call_kind { C_LOOKUP, C_RUN, C_TERM, C_LIST };

static const char *const action_names[] = { "DescribeInstances", "RunInstances",
					    "TerminateInstances", "DescribeInstances" };

/* One API call in flight (for DescribeInstances: all its pages). */
struct call {
	struct ec2 *ec2;
	struct grp *grp;
	enum call_kind kind;
	struct rh__batch *batch; /* the batch it is the call of, or NULL */
	struct job **jobs; /* whom it serves; a reference each */
	size_t njobs;
	struct occo_buf form; /* the parameters but NextToken and Version */
	struct rh__ec2_insts insts; /* what the pages said so far */
	char *next_token;
	unsigned pages;
};

static void ec2_unref(struct ec2 *ec)
{
	struct grp *g, *next;

	if (--ec->refs > 0)
		return;
	for (g = ec->groups; g; g = next) {
		next = g->next;
		free(g->url);
		free(g->region);
		occo_free_secret(g->access);
		occo_free_secret(g->secret);
		free(g->sigv4);
		free(g);
	}
	free(ec);
}

static void job_free(struct rh__job *base)
{
	struct job *job = (struct job *)base;
	size_t i;

	for (i = 0; i < job->nids; i++)
		free(job->ids[i]);
	free(job->ids);
	free(job);
}

static const struct rh__job_ops job_ops = { .free = job_free };

static void job_add_id(struct job *job, const char *id)
{
	job->ids = occo_reallocarray(job->ids, job->nids + 1, sizeof(*job->ids));
	job->ids[job->nids++] = occo_strdup(id);
}

/* ---- calls ---- */

static struct call *call_new(struct ec2 *ec, struct grp *g, enum call_kind kind)
{
	struct call *c = occo_calloc(1, sizeof(*c));

	c->ec2 = ec;
	c->grp = g;
	c->kind = kind;
	occo_buf_init(&c->form, FORM_MAX);
	ec->refs++;
	return c;
}

/* Add a job; its reference moves to the call. */
static void call_take(struct call *c, struct job *job)
{
	c->jobs = occo_reallocarray(c->jobs, c->njobs + 1, sizeof(*c->jobs));
	c->jobs[c->njobs++] = job;
}

static int call_live(const struct call *c)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i] && rh__job_live(&c->jobs[i]->base))
			return 1;
	return 0;
}

static void call_free(struct call *c)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i])
			rh__job_unref(&c->jobs[i]->base);
	free(c->jobs);
	if (c->form.data)
		occo_wipe(c->form.data, c->form.len); /* user data may hold secrets */
	occo_buf_release(&c->form);
	rh__ec2_insts_release(&c->insts);
	free(c->next_token);
	ec2_unref(c->ec2);
	free(c);
}

/* The call is over: the group may send the next batch. */
static void call_done(struct call *c)
{
	if (c->batch)
		rh__batch_done(c->batch);
	rh__flush_kick(&c->ec2->flush);
	call_free(c);
}

/* Fail every job of the call with err, and end it. */
static void call_fail(struct call *c, const struct occo_err *err, unsigned flags)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i])
			rh__job_fail(&c->jobs[i]->base, err, flags);
	call_done(c);
}

static void on_http(struct occo_http_response *resp, const struct occo_err *err, void *ud);

/* Send (the next page of) a call. On failure nothing was sent and no job is completed. */
static int call_send(struct call *c, struct occo_err *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL
	};
	static const struct occo_http_retry no_retry = { 0, 0, 0 };
	struct grp *g = c->grp;
	struct occo_http_request rq = { 0 };
	struct occo_buf body;
	int rc;

	occo_buf_init(&body, FORM_MAX);
	rc = occo_buf_append(&body, c->form.data ? c->form.data : "", c->form.len, err);
	if (rc == 0 && c->next_token)
		rc = rh__ec2_param(&body, "NextToken", c->next_token, err);
	if (rc == 0)
		rc = rh__ec2_param(&body, "Version", RH__EC2_VERSION, err);
	if (rc == 0) {
		rq.method = "POST";
		rq.url = g->url;
		rq.headers = headers;
		rq.body = body.data;
		rq.body_len = body.len;
		rq.aws_sigv4 = g->sigv4;
		rq.username = g->access;
		rq.password = g->secret;
		if (c->kind == C_RUN) {
			/* a resend must look for the token again first: the core's retry does */
			rq.retry = &no_retry;
		} else {
			rq.flags = OCCO_HTTP_F_IDEMPOTENT;
		}
		rq.max_body = c->kind == C_LOOKUP || c->kind == C_LIST ? PAGE_BODY : SMALL_BODY;
		rc = occo_http_submit(c->ec2->http, &rq, on_http, c, err);
		OCCO_DEBUG("ec2 call", OCCO_KV("action", action_names[c->kind]),
			   OCCO_KV("endpoint", g->url), OCCO_KV("region", g->region),
			   OCCO_KV("page", c->next_token ? "next" : "first"));
	}
	if (body.data)
		occo_wipe(body.data, body.len);
	occo_buf_release(&body);
	if (rc < 0)
		occo_err_prefix(err, "%s", action_names[c->kind]);
	return rc;
}

/* call_send from the loop: a failure fails the call's jobs. */
static void call_start(struct call *c)
{
	struct occo_err e;

	if (call_send(c, &e) < 0)
		call_fail(c, &e, 0);
}

/* ---- groups and the flush ---- */

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static struct grp *grp_get(struct ec2 *ec, const char *url, const char *region, const char *ak,
			   const char *sk)
{
	struct grp *g;

	for (g = ec->groups; g; g = g->next)
		if (!strcmp(g->url, url) && !strcmp(g->region, region) && !strcmp(g->access, ak) &&
		    !strcmp(g->secret, sk))
			return g;
	g = occo_calloc(1, sizeof(*g));
	g->url = occo_strdup(url);
	g->region = occo_strdup(region);
	g->access = occo_strdup(ak);
	g->secret = occo_strdup(sk);
	g->sigv4 = occo_asprintf("aws:amz:%s:ec2", region);
	g->next = ec->groups;
	ec->groups = g;
	return g;
}

/* The live jobs of the lookup batch, up to MAX_BATCH tokens, as one DescribeInstances. */
static void flush_look(struct ec2 *ec, struct grp *g)
{
	struct call *c;
	struct job *job;
	struct occo_err e;
	char page[16];
	int rc;

	if (!rh__batch_start(&g->look))
		return;
	c = call_new(ec, g, C_LOOKUP);
	c->batch = &g->look;
	snprintf(page, sizeof(page), "%u", ec->page_size);
	rc = rh__ec2_param(&c->form, "Action", "DescribeInstances", &e);
	if (rc == 0)
		rc = rh__ec2_param(&c->form, "Filter.1.Name", "tag:" RH__EC2_TAG_TOKEN, &e);
	if (rc == 0)
		rc = rh__ec2_param(&c->form, "MaxResults", page, &e);
	while (c->njobs < MAX_BATCH && rh__jobq_head(&g->look.q)) {
		job = (struct job *)rh__jobq_pop(&g->look.q);
		call_take(c, job);
		if (rc == 0)
			rc = rh__ec2_paramf(&c->form, rh_req_node(job->base.req)->token, &e,
					    "Filter.1.Value.%zu", c->njobs);
	}
	if (rc < 0)
		call_fail(c, &e, 0);
	else
		call_start(c);
}

/* Drops waiting for termination: one call for up to MAX_BATCH ids (a solo job alone). */
static void flush_term(struct ec2 *ec, struct grp *g)
{
	struct call *c;
	struct job *job;
	struct occo_err e;
	size_t ids = 0, i;
	int rc;

	if (!rh__batch_start(&g->term))
		return;
	c = call_new(ec, g, C_TERM);
	c->batch = &g->term;
	rc = rh__ec2_param(&c->form, "Action", "TerminateInstances", &e);
	while ((job = (struct job *)rh__jobq_head(&g->term.q))) {
		if (c->njobs && (job->solo || c->jobs[0]->solo || ids + job->nids > MAX_BATCH))
			break;
		call_take(c, (struct job *)rh__jobq_pop(&g->term.q));
		for (i = 0; i < job->nids && rc == 0; i++)
			rc = rh__ec2_paramf(&c->form, job->ids[i], &e, "InstanceId.%zu", ++ids);
	}
	if (rc < 0)
		call_fail(c, &e, 0);
	else
		call_start(c);
}

static void on_flush(void *ud)
{
	struct ec2 *ec = ud;
	struct grp *g;

	ec->refs++; /* a completion below may stop the plugin */
	for (g = ec->groups; g && !ec->stopped; g = g->next) {
		flush_look(ec, g);
		if (!ec->stopped)
			flush_term(ec, g);
	}
	ec2_unref(ec);
}

/* ---- answers ---- */

static void run_start(struct ec2 *ec, struct job *job);

/* The token lookup is over: known tokens are answered, the other creates run. */
static void lookup_done(struct call *c)
{
	size_t i, k;

	for (i = 0; i < c->njobs; i++) {
		struct job *job = c->jobs[i];
		const char *token = job->base.req ? rh_req_node(job->base.req)->token : NULL;
		const struct rh__ec2_inst *found = NULL;

		if (!token)
			continue;
		for (k = 0; k < c->insts.n; k++) {
			const struct rh__ec2_inst *v = &c->insts.v[k];

			if (!v->token || strcmp(v->token, token))
				continue;
			if (job->base.kind == RH__JOB_DROP) {
				if (!v->state_name || strcmp(v->state_name, "terminated"))
					job_add_id(job, v->id);
			} else if (!found ||
				   (found->state == RH_SHUTDOWN && v->state != RH_SHUTDOWN)) {
				found = v; /* like ClientToken: a live one first */
			}
		}
		if (job->base.kind == RH__JOB_CREATE && found) {
			OCCO_DEBUG("ec2 instance found by its token",
				   OCCO_KV("node_id", rh_req_node(job->base.req)->node_id),
				   OCCO_KV("instance", found->id));
			rh__job_created(&job->base, found->id);
		} else if (job->base.kind == RH__JOB_CREATE) {
			run_start(c->ec2, job);
		} else if (job->nids) {
			rh__jobq_push(&c->grp->term.q, &job->base);
		} else {
			rh__job_dropped(&job->base); /* nothing carries the token */
		}
	}
	call_done(c);
}

static void list_done(struct call *c)
{
	struct job *job = c->jobs[0];
	struct rh_instance *v = occo_calloc(c->insts.n + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < c->insts.n; i++) {
		const struct rh__ec2_inst *x = &c->insts.v[i];

		v[i].instance_id = x->id;
		v[i].token = x->token;
		v[i].state = x->state;
		v[i].addresses = x->addresses;
		v[i].private_address = x->private_address;
		v[i].message = x->message;
	}
	rh__job_listed(&job->base, v, c->insts.n);
	free(v);
	call_done(c);
}

/* A page of DescribeInstances: ask for the next, or finish. */
static void page_done(struct call *c, struct occo_http_response *resp)
{
	char *next = NULL;
	struct occo_err e;
	int rc;

	rc = rh__ec2_parse_instances(resp->body.data ? resp->body.data : "", resp->body.len,
				     &c->insts, MAX_LISTED, &next, &e);
	c->pages++;
	if (rc == 0 && next && c->next_token && !strcmp(next, c->next_token))
		rc = occo_err_set(&e, OCCO_EPROTO, "the same nextToken twice");
	else if (rc == 0 && next && c->pages >= MAX_PAGES)
		rc = occo_err_set(&e, OCCO_ETOOBIG, "more than %d pages", MAX_PAGES);
	if (rc < 0) {
		free(next);
		occo_err_prefix(&e, "DescribeInstances");
		call_fail(c, &e, 0);
		return;
	}
	if (next) {
		free(c->next_token);
		c->next_token = next;
		if (!call_live(c))
			call_done(c);
		else
			call_start(c);
		return;
	}
	if (c->kind == C_LIST)
		list_done(c);
	else
		lookup_done(c);
}

static void run_done(struct call *c, struct occo_http_response *resp)
{
	struct job *job = c->jobs[0];
	char *next = NULL;
	struct occo_err e;
	int rc;

	rc = rh__ec2_parse_instances(resp->body.data ? resp->body.data : "", resp->body.len,
				     &c->insts, 1, &next, &e);
	free(next);
	if (rc == 0 && c->insts.n == 0)
		rc = occo_err_set(&e, OCCO_EPROTO, "the answer names no instance");
	if (rc < 0) {
		occo_err_prefix(&e, "RunInstances");
		rh__job_fail(&job->base, &e, 0);
	} else {
		OCCO_DEBUG("ec2 instance created", OCCO_KV("instance", c->insts.v[0].id),
			   OCCO_KV("node_id",
				   job->base.req ? rh_req_node(job->base.req)->node_id : ""));
		rh__job_created(&job->base, c->insts.v[0].id);
	}
	call_done(c);
}

/* A TerminateInstances of several jobs failed: each goes again on its own. */
static void term_split(struct call *c)
{
	size_t i;

	for (i = 0; i < c->njobs; i++) {
		struct job *job = c->jobs[i];

		if (!rh__job_live(&job->base) || c->ec2->stopped)
			continue;
		job->solo = 1;
		rh__jobq_push(&c->grp->term.q, &job->base);
	}
	call_done(c);
}

static void on_http(struct occo_http_response *resp, const struct occo_err *err, void *ud)
{
	struct call *c = ud;
	const char *action = action_names[c->kind];
	enum rh__ec2_fault fault;
	struct occo_err e;
	size_t i;

	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "%s", action);
		call_fail(c, &e,
			  err->code == OCCO_ETIMEDOUT || err->code == OCCO_ECONN ? RH_F_TRANSIENT
										 : 0);
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		switch (c->kind) {
		case C_LOOKUP:
		case C_LIST:
			page_done(c, resp);
			break;
		case C_RUN:
			run_done(c, resp);
			break;
		case C_TERM:
			for (i = 0; i < c->njobs; i++)
				rh__job_dropped(&c->jobs[i]->base);
			call_done(c);
			break;
		}
		return;
	}
	fault = rh__ec2_error(resp->status, resp->body.data, resp->body.len, action, c->grp->url,
			      &e);
	rh__ec2_scrub(e.msg, c->grp->secret);
	rh__ec2_scrub(e.msg, c->grp->access);
	if (c->kind == C_TERM && c->njobs > 1 && fault != RH__EC2_F_TRANSIENT &&
	    fault != RH__EC2_F_AUTH) {
		term_split(c);
	} else if (c->kind == C_TERM && fault == RH__EC2_F_NOT_FOUND) {
		rh__job_dropped(&c->jobs[0]->base); /* already gone */
		call_done(c);
	} else {
		call_fail(c, &e, fault == RH__EC2_F_TRANSIENT ? RH_F_TRANSIENT : 0);
	}
}

/* ---- RunInstances ---- */

static int put_tag(struct occo_buf *b, unsigned *n, const char *k, const char *v,
		   struct occo_err *err)
{
	int rc;

	++*n;
	if ((rc = rh__ec2_paramf(b, k, err, "TagSpecification.1.Tag.%u.Key", *n)) < 0)
		return rc;
	return rh__ec2_paramf(b, v, err, "TagSpecification.1.Tag.%u.Value", *n);
}

/* A scalar tag value as text (the schema allows strings, numbers and booleans). */
static char *tag_text(const json_t *v)
{
	if (json_is_string(v))
		return occo_strdup(json_string_value(v));
	if (json_is_integer(v))
		return occo_asprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v)) {
		/* the shortest text that reads back the same: 0.1, not 0.10000000000000001 */
		double x = json_real_value(v);
		char *t = occo_asprintf("%.15g", x);

		if (strtod(t, NULL) == x)
			return t;
		free(t);
		return occo_asprintf("%.17g", x);
	}
	return occo_strdup(json_is_true(v) ? "true" : "false");
}

static int run_form(struct occo_buf *b, const struct rh_node *n, struct occo_err *err)
{
	const json_t *res = n->resource, *tags = json_object_get(res, "tags"), *v;
	const char *k;
	unsigned ntags = 0;
	char name[96];
	size_t i;
	int rc;

#define P(key, val)                                                 \
	do {                                                        \
		if ((rc = rh__ec2_param(b, (key), (val), err)) < 0) \
			return rc;                                  \
	} while (0)
	P("Action", "RunInstances");
	P("ImageId", str(res, "image_id"));
	P("InstanceType", str(res, "instance_type"));
	P("MinCount", "1");
	P("MaxCount", "1");
	P("ClientToken", n->token);
	if (str(res, "key_name"))
		P("KeyName", str(res, "key_name"));
	if (str(res, "subnet_id"))
		P("SubnetId", str(res, "subnet_id"));
	json_array_foreach (json_object_get(res, "security_group_ids"), i, v)
		if ((rc = rh__ec2_paramf(b, json_string_value(v), err, "SecurityGroupId.%zu",
					 i + 1)) < 0)
			return rc;
	if (n->user_data && *n->user_data) {
		char *ud = rh__ec2_base64(n->user_data, strlen(n->user_data));

		rc = rh__ec2_param(b, "UserData", ud, err);
		occo_free_secret(ud);
		if (rc < 0)
			return rc;
	}
	P("TagSpecification.1.ResourceType", "instance");
#undef P
	snprintf(name, sizeof(name), "occopus-%.8s-%.18s-%.8s", n->infra_id ? n->infra_id : "",
		 n->name ? n->name : "", n->node_id ? n->node_id : "");
	if ((rc = put_tag(b, &ntags, RH__EC2_TAG_INFRA, n->infra_id, err)) < 0 ||
	    (rc = put_tag(b, &ntags, RH__EC2_TAG_NODE, n->name, err)) < 0 ||
	    (rc = put_tag(b, &ntags, RH__EC2_TAG_NODE_ID, n->node_id, err)) < 0 ||
	    (rc = put_tag(b, &ntags, RH__EC2_TAG_TOKEN, n->token, err)) < 0)
		return rc;
	if (!json_object_get(tags, "Name") && (rc = put_tag(b, &ntags, "Name", name, err)) < 0)
		return rc;
	json_object_foreach ((json_t *)tags, k, v) {
		char *t = tag_text(v);

		rc = put_tag(b, &ntags, k, t, err);
		free(t);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void run_start(struct ec2 *ec, struct job *job)
{
	struct call *c = call_new(ec, job->grp, C_RUN);
	struct occo_err e;

	rh__job_ref(&job->base);
	call_take(c, job);
	if (run_form(&c->form, rh_req_node(job->base.req), &e) < 0) {
		occo_err_prefix(&e, "RunInstances");
		call_fail(c, &e, 0);
		return;
	}
	call_start(c);
}

/* ---- the operations ---- */

/* What every operation needs: the plugin, a usable endpoint and credentials. */
static int prepare(struct rh_req *req, struct grp **out, struct occo_err *err)
{
	struct ec2 *ec = rh_req_state(req);
	const struct rh_node *n = rh_req_node(req);
	const char *url = str(n->resource, "endpoint"), *region = str(n->resource, "regionname");
	const char *ak, *sk;

	if (!ec)
		return occo_err_set(err, OCCO_ENOTSUP,
				    "the ec2 resource handler needs the HTTP client");
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return occo_err_set(err, OCCO_EINVAL,
				    "'endpoint' must be an http:// or https:// URL, not '%s'",
				    url ? url : "");
	if (!region || !*region)
		return occo_err_set(err, OCCO_EINVAL, "'regionname' must not be empty");
	if (!n->auth)
		return occo_err_set(err, OCCO_EINVAL,
				    "cannot find credentials for '%s': no 'resource' entry of the "
				    "auth data matches it",
				    url);
	ak = str(n->auth, "accesskey");
	sk = str(n->auth, "secretkey");
	if (!ak || !*ak || !sk || !*sk)
		return occo_err_set(err, OCCO_EINVAL,
				    "the credentials for '%s' have no '%s' (auth_data: accesskey, "
				    "secretkey)",
				    url, !ak || !*ak ? "accesskey" : "secretkey");
	*out = grp_get(ec, url, region, ak, sk);
	return 0;
}

static struct job *job_new(struct rh_req *req, enum rh__job_kind kind, struct grp *g)
{
	struct job *job = occo_calloc(1, sizeof(*job));

	rh__job_init(&job->base, &job_ops, req, kind);
	job->grp = g;
	return job;
}

static int ec2_create(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct ec2 *ec = rh_req_state(req);
	struct grp *g;
	int rc;

	if ((rc = prepare(req, &g, err)) < 0)
		return rc;
	if (!n->token || !*n->token)
		return occo_err_set(err, OCCO_EINVAL, "no idempotency token");
	if (n->user_data && strlen(n->user_data) > MAX_USER_DATA)
		return occo_err_set(err, OCCO_EINVAL,
				    "the user data (contextualisation) is %zu bytes; EC2 takes at "
				    "most %d",
				    strlen(n->user_data), MAX_USER_DATA);
	rh__jobq_push(&g->look.q, &job_new(req, RH__JOB_CREATE, g)->base);
	rh__flush_kick(&ec->flush);
	return 0;
}

static int ec2_drop(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct ec2 *ec = rh_req_state(req);
	struct job *job;
	struct grp *g;
	int rc;

	if ((rc = prepare(req, &g, err)) < 0)
		return rc;
	if ((!n->instance_id || !*n->instance_id) && (!n->token || !*n->token))
		return occo_err_set(err, OCCO_EINVAL, "no instance id and no token");
	job = job_new(req, RH__JOB_DROP, g);
	if (n->instance_id && *n->instance_id) {
		job_add_id(job, n->instance_id);
		rh__jobq_push(&g->term.q, &job->base);
	} else {
		rh__jobq_push(&g->look.q, &job->base);
	}
	rh__flush_kick(&ec->flush);
	return 0;
}

static int ec2_list(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct ec2 *ec = rh_req_state(req);
	struct job *job;
	struct call *c;
	struct grp *g;
	char page[16];
	int rc;

	if ((rc = prepare(req, &g, err)) < 0)
		return rc;
	if (!n->infra_id || !*n->infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	job = job_new(req, RH__JOB_LIST, g);
	c = call_new(ec, g, C_LIST);
	rh__job_ref(&job->base);
	call_take(c, job);
	snprintf(page, sizeof(page), "%u", ec->page_size);
	rc = rh__ec2_param(&c->form, "Action", "DescribeInstances", err);
	if (rc == 0)
		rc = rh__ec2_param(&c->form, "Filter.1.Name", "tag:" RH__EC2_TAG_INFRA, err);
	if (rc == 0)
		rc = rh__ec2_param(&c->form, "Filter.1.Value.1", n->infra_id, err);
	if (rc == 0)
		rc = rh__ec2_param(&c->form, "MaxResults", page, err);
	if (rc == 0)
		rc = call_send(c, err);
	if (rc < 0) {
		/* nothing started: no completion */
		call_free(c);
		rh__job_abandon(&job->base);
	}
	return rc;
}

static int ec2_start(const struct rh_env *env, void **state, struct occo_err *err)
{
	const char *ps = getenv("OCCOPUS_EC2_PAGE_SIZE");
	struct ec2 *ec;
	long v;

	(void)err;
	*state = NULL;
	if (!env->http)
		return 0; /* the plugin says so when it is used */
	ec = occo_calloc(1, sizeof(*ec));
	ec->http = env->http;
	ec->page_size = DEF_PAGE_SIZE;
	if (ps && *ps) {
		v = strtol(ps, NULL, 10);
		ec->page_size = (unsigned)(v < 5 ? 5 : v > 1000 ? 1000 : v);
	}
	rh__flush_init(&ec->flush, env->loop, on_flush, ec);
	ec->refs = 2; /* the core's and the timer's */
	*state = ec;
	return 0;
}

static void on_flush_closed(uv_handle_t *h)
{
	ec2_unref(h->data);
}

static void ec2_stop(void *state)
{
	struct ec2 *ec = state;
	struct grp *g;

	ec->stopped = 1;
	for (g = ec->groups; g; g = g->next) {
		rh__jobq_drain(&g->look.q, NULL, 0);
		rh__jobq_drain(&g->term.q, NULL, 0);
	}
	rh__flush_close(&ec->flush, on_flush_closed);
	ec2_unref(ec); /* calls still out finish when the HTTP client answers or closes */
}

const struct rh_ops rh__ec2_ops = {
	.name = "ec2",
	.schema = &schema,
	.req_size = RH__JOB_REQ_SIZE,
	.create = ec2_create,
	.drop = ec2_drop,
	.list = ec2_list,
	.cancel = rh__job_cancel,
	.start = ec2_start,
	.stop = ec2_stop,
};
