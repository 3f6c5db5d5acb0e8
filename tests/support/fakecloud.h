/*
 * fakecloud.h - a cloud of the test's own for the infraprocessor's tests: it answers creates,
 * drops and lists on the loop (1 ms later), as a real cloud's plugin would, and keeps its
 * instances where the test can change them behind the orchestrator's back.
 *
 * Header-only (static functions): it needs the infraprocessor's types, which the shared test
 * support library does not link.
 */
#ifndef OCCO_TEST_FAKECLOUD_H
#define OCCO_TEST_FAKECLOUD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "occo/infraprocessor/iproc.h"
#include "occo/util/alloc.h"

#define FAKECLOUD_MAX_LIST 64 /* instances a list answers with */

struct fakecloud {
	uv_loop_t *loop;
	json_t *instances; /* instance_id -> {token, state, addresses} */
	const char *new_state; /* the state of new instances ("ready") */
	const char *address; /* the address of new instances; NULL: 127.77.0.<10 + n> */
	int creates, drops, lists; /* calls so far */
	/* called by each create before it is answered: the test's own checks */
	void (*on_create)(struct fakecloud *c, const struct iproc_node *node);
	void *ud;
};

struct fakecloud_call {
	struct fakecloud *c;
	int kind; /* 0 create, 1 drop, 2 list */
	int n; /* a create's number */
	char *token, *instance_id;
	void *cb, *ud;
};

static void fakecloud_answer(uv_timer_t *t)
{
	struct fakecloud_call *k = t->data;
	struct fakecloud *c = k->c;

	if (k->kind == 0) {
		char id[32], addr[32];

		snprintf(id, sizeof(id), "i-%d", k->n);
		snprintf(addr, sizeof(addr), "127.77.0.%d", 10 + k->n);
		json_object_set_new(c->instances, id,
				    json_pack("{s:s,s:s,s:[s]}", "token", k->token, "state",
					      c->new_state, "addresses",
					      c->address ? c->address : addr));
		((iproc_created_fn)k->cb)(id, NULL, k->ud);
	} else if (k->kind == 1) {
		if (k->instance_id)
			json_object_del(c->instances, k->instance_id);
		((iproc_dropped_fn)k->cb)(NULL, k->ud);
	} else {
		struct iproc_seen v[FAKECLOUD_MAX_LIST];
		const char *id;
		json_t *x;
		size_t n = 0;

		json_object_foreach (c->instances, id, x) {
			if (n == FAKECLOUD_MAX_LIST)
				break;
			memset(&v[n], 0, sizeof(v[n]));
			v[n].instance_id = id;
			v[n].token = json_string_value(json_object_get(x, "token"));
			v[n].state = json_string_value(json_object_get(x, "state"));
			v[n].addresses = json_object_get(x, "addresses");
			v[n].message = !strcmp(v[n].state, "failed") ? "disk on fire" : NULL;
			n++;
		}
		((iproc_listed_fn)k->cb)(v, n, NULL, k->ud);
	}
	free(k->token);
	free(k->instance_id);
	free(k);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static int fakecloud_later(struct fakecloud *c, int kind, const struct iproc_node *node, void *cb,
			   void *ud)
{
	struct fakecloud_call *k = occo_calloc(1, sizeof(*k));
	uv_timer_t *t = occo_calloc(1, sizeof(*t));

	k->c = c;
	k->kind = kind;
	k->n = c->creates;
	k->token = node->token ? occo_strdup(node->token) : NULL;
	k->instance_id = node->instance_id ? occo_strdup(node->instance_id) : NULL;
	k->cb = cb;
	k->ud = ud;
	uv_timer_init(c->loop, t);
	t->data = k;
	uv_timer_start(t, fakecloud_answer, 1, 0);
	return 0;
}

static int fakecloud_create(void *impl, const struct iproc_node *node, iproc_created_fn cb,
			    void *ud, struct occo_err *err)
{
	struct fakecloud *c = impl;

	if (c->on_create)
		c->on_create(c, node);
	c->creates++;
	return fakecloud_later(c, 0, node, cb, ud);
}

static int fakecloud_drop(void *impl, const struct iproc_node *node, iproc_dropped_fn cb, void *ud,
			  struct occo_err *err)
{
	((struct fakecloud *)impl)->drops++;
	return fakecloud_later(impl, 1, node, cb, ud);
}

static int fakecloud_list(void *impl, const struct iproc_node *node, iproc_listed_fn cb, void *ud,
			  struct occo_err *err)
{
	((struct fakecloud *)impl)->lists++;
	return fakecloud_later(impl, 2, node, cb, ud);
}

static char *fakecloud_endpoint(void *impl, const json_t *resource)
{
	const char *e = json_string_value(json_object_get(resource, "endpoint"));

	return occo_strdup(e ? e : "none");
}

/* Start an empty cloud on the loop; its plugin, as the infraprocessor sees it. */
static struct iproc_cloud fakecloud_init(struct fakecloud *c, uv_loop_t *loop)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->instances = json_object();
	c->new_state = "ready";
	return (struct iproc_cloud){ c, fakecloud_create, fakecloud_drop, fakecloud_list,
				     fakecloud_endpoint };
}

static void fakecloud_release(struct fakecloud *c)
{
	json_decref(c->instances);
	c->instances = NULL;
}

#endif
