/*
 * core.c - the config manager core: choosing the plugin, answering on the loop.
 *
 * Answers that a plugin knows at once are queued and delivered together on the next loop
 * turn by one timer, so a thousand nodes cost one timer, not a thousand.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/configmanager/cm.h"
#include "occo/util/alloc.h"

struct answer {
	cm_state_fn cb;
	void *ud;
	const char *state; /* static string */
	struct answer *next;
};

struct cm {
	uv_timer_t timer;
	struct answer *head, **tail;
	int armed;
	int closing;
};

static void deliver(uv_timer_t *t)
{
	struct cm *cm = t->data;
	struct answer *a = cm->head, *next;

	cm->head = NULL;
	cm->tail = &cm->head;
	cm->armed = 0;
	for (; a; a = next) {
		next = a->next;
		a->cb(a->state, NULL, a->ud);
		free(a);
	}
}

void cm_defer(struct cm *cm, cm_state_fn cb, void *ud, const char *state)
{
	struct answer *a = occo_calloc(1, sizeof(*a));

	a->cb = cb;
	a->ud = ud;
	a->state = state;
	*cm->tail = a;
	cm->tail = &a->next;
	if (!cm->armed) {
		cm->armed = 1;
		uv_timer_start(&cm->timer, deliver, 0, 0);
	}
}

int cm_new(uv_loop_t *loop, struct cm **out, struct occo_err *err)
{
	struct cm *cm = occo_calloc(1, sizeof(*cm));

	uv_timer_init(loop, &cm->timer);
	cm->timer.data = cm;
	cm->tail = &cm->head;
	*out = cm;
	return 0;
}

static void closed(uv_handle_t *h)
{
	free(h->data);
}

void cm_free(struct cm *cm)
{
	struct answer *a, *next;
	struct occo_err err;

	if (!cm)
		return;
	occo_err_set(&err, OCCO_ECANCELED, "config manager closed");
	for (a = cm->head; a; a = next) {
		next = a->next;
		a->cb(NULL, &err, a->ud);
		free(a);
	}
	cm->head = NULL;
	cm->closing = 1;
	uv_close((uv_handle_t *)&cm->timer, closed);
}

int cm_node_state(struct cm *cm, const struct cm_node *node, cm_state_fn cb, void *ud,
		  struct occo_err *err)
{
	const char *type = json_string_value(json_object_get(node->section, "type"));
	const struct cm_ops *ops;

	if (cm->closing)
		return occo_err_set(err, OCCO_ESTATE, "config manager closed");
	ops = cm_plugin(type ? type : "dummy");
	if (!ops)
		return occo_err_set(err, OCCO_EINVAL, "node '%s': unknown config manager '%s'",
				    node->name ? node->name : "?", type);
	if (!ops->node_state)
		return occo_err_set(err, OCCO_ENOTSUP,
				    "node '%s': config manager '%s' is not available in occopus-c",
				    node->name ? node->name : "?", ops->name);
	return ops->node_state(cm, node, cb, ud, err);
}
