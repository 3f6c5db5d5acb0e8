/*
 * plan.c - the decisions of a maintenance pass.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/enactor/plan.h"
#include "occo/infobroker/scaling.h"
#include "occo/util/alloc.h"
#include "occo/util/json.h"

const char *enact_drop_reason_name(enum enact_drop_reason r)
{
	static const char *const names[] = { "failed", "shutdown", "unfinished", "removed",
					     "scaling" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

static void add_drop(struct enact_plan *p, size_t *cap, const char *node_id, const char *name,
		     enum enact_drop_reason reason)
{
	if (p->ndrops == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		p->drops = occo_reallocarray(p->drops, *cap, sizeof(*p->drops));
	}
	p->drops[p->ndrops++] = (struct enact_drop){ node_id, name, reason };
}

int enact_guard_trips(size_t failed, size_t total, double max_failed_share)
{
	double share = max_failed_share > 0 ? max_failed_share : ENACT_DEFAULT_MAX_FAILED_SHARE;

	return failed >= 2 && total > 0 && (double)failed > share * (double)total;
}

static int health_failed(const struct ib_record *rec)
{
	return rec->health_failed && rec->state && !strcmp(rec->state, "failed");
}

/* The upkeep verdict on one record: -1 keep, else why it is dropped. */
static int upkeep(const struct ib_record *rec)
{
	const char *state = rec->state;

	if (!state)
		return ENACT_DROP_UNFINISHED;
	if (!strcmp(state, "failed"))
		return ENACT_DROP_FAILED;
	if (!strcmp(state, "shutdown"))
		return ENACT_DROP_SHUTDOWN;
	if (!strcmp(state, "creating") || !strcmp(state, "dropping"))
		return ENACT_DROP_UNFINISHED;
	return -1;
}

/* One node: its existing instances, its scaling plan, its drops and creates. */
static int plan_node(struct enact_plan *p, size_t *dcap, const json_t *node,
		     const struct ib_records *nodes, const struct ib_record_ref *mine, size_t nmine,
		     const json_t *scaling, int *create, struct occo_err *err)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	struct ib_scaling_inst *inst;
	struct ib_scaling_plan sp;
	const char *k;
	json_t *v;
	size_t n = 0, i;
	int rc;

	/* `mine`: this node's records that upkeep keeps */
	inst = occo_calloc(nmine + 1, sizeof(*inst));
	for (i = 0; i < nmine; i++) {
		const struct ib_record *rec = mine[i].rec;

		inst[n].node_id = rec->node_id;
		inst[n].addresses = rec->addresses;
		inst[n].created_at = (uint64_t)rec->created_at;
		n++;
	}
	rc = ib_scaling_plan(name, json_object_get(node, "scaling"), scaling, inst, n, &sp, err);
	free(inst);
	if (rc < 0)
		return rc;
	json_array_foreach (sp.drop, i, v) {
		/* borrow the id from the records, which outlive the plan */
		const struct ib_record *rec = ib_records_get(nodes, json_string_value(v));

		if (rec)
			add_drop(p, dcap, rec->node_id, name, ENACT_DROP_SCALING);
	}
	*create = sp.target - (int)(n - json_array_size(sp.drop));
	if (*create < 0)
		*create = 0;
	p->nkeep += n - json_array_size(sp.drop);
	if (sp.store_target)
		json_object_set_new(p->targets, name, json_integer(sp.target));
	json_array_extend(p->scaling_del, sp.del);
	json_object_foreach (sp.put, k, v)
		json_object_set(p->scaling_put, k, v);
	json_array_extend(p->warnings, sp.warnings);
	ib_scaling_plan_release(&sp);
	return 0;
}

int enact_plan_pass(const json_t *desc, const struct ib_records *nodes, const json_t *scaling,
		    const struct enact_plan_opts *opts, struct enact_plan *out,
		    struct occo_err *err)
{
	const json_t *dnodes = json_object_get(desc, "nodes");
	const json_t *levels = json_object_get(desc, "levels");
	struct occo_json_index by_name;
	const json_t *node;
	json_t *level, *name;
	const struct ib_record *rec;
	struct enact_plan p = { 0 };
	struct ib_record_ref *kept = NULL; /* the records upkeep keeps, by node name */
	size_t dcap = 0, nkept = 0, i, j;
	int rc = 0, verdict, guard;

	if (!json_is_array(dnodes) || !json_is_array(levels) || !nodes)
		return occo_err_set(err, OCCO_EPROTO,
				    "the static description has no nodes or levels");
	occo_json_index_init(&by_name, dnodes, "name");
	p.targets = json_object();
	p.scaling_del = json_array();
	p.scaling_put = json_object();
	p.warnings = json_array();
	p.suppressed = json_array();
	p.bootstrap = ib_records_count(nodes) == 0;

	/*
	 * The guard: how many fail their health checks now (past their timeout or not yet: a
	 * partition makes them fail together, but they cross their timeouts one by one), of how
	 * many.
	 */
	ib_records_foreach (nodes, rec) {
		if (upkeep(rec) == ENACT_DROP_UNFINISHED)
			continue;
		p.ninstances++;
		p.nhealth_failed += health_failed(rec) || rec->health_failing;
	}
	guard = enact_guard_trips(p.nhealth_failed, p.ninstances,
				  opts ? opts->max_failed_share : 0);

	/* upkeep and removed nodes; the kept records grouped by node name */
	kept = occo_calloc(ib_records_count(nodes) + 1, sizeof(*kept));
	ib_records_foreach (nodes, rec) {
		const char *id = rec->node_id, *rname = rec->name;

		verdict = upkeep(rec);
		if (guard && health_failed(rec)) {
			json_array_append_new(p.suppressed, json_string(id));
			verdict = -1;
		}
		if (verdict >= 0) {
			add_drop(&p, &dcap, id, rname, (enum enact_drop_reason)verdict);
			continue;
		}
		if (!occo_json_index_get(&by_name, rname)) {
			add_drop(&p, &dcap, id, rname, ENACT_DROP_REMOVED);
			continue;
		}
		kept[nkept] = (struct ib_record_ref){ rname, rec, nkept };
		nkept++;
	}
	ib_record_refs_sort(kept, nkept);

	/* scaling and creation, level by level */
	p.nlevels = json_array_size(levels);
	p.levels = occo_calloc(p.nlevels + 1, sizeof(*p.levels));
	json_array_foreach (levels, i, level) {
		p.levels[i].v = occo_calloc(json_array_size(level) + 1, sizeof(*p.levels[i].v));
		json_array_foreach (level, j, name) {
			int create = 0;
			size_t first, nmine;

			node = occo_json_index_get(&by_name, json_string_value(name));
			if (!node) {
				rc = occo_err_set(err, OCCO_EPROTO,
						  "level %zu names unknown node '%s'", i,
						  json_string_value(name));
				goto out;
			}
			nmine = ib_record_refs_run(kept, nkept, json_string_value(name), &first);
			rc = plan_node(&p, &dcap, node, nodes, kept + first, nmine, scaling,
				       &create, err);
			if (rc < 0)
				goto out;
			if (create > 0) {
				p.levels[i].v[p.levels[i].n++] = (struct enact_create){
					json_string_value(json_object_get(node, "name")), create
				};
				p.ncreate += (size_t)create;
			}
		}
	}
out:
	occo_json_index_release(&by_name);
	free(kept);
	if (rc < 0) {
		enact_plan_release(&p);
		return rc;
	}
	*out = p;
	return 0;
}

void enact_plan_release(struct enact_plan *p)
{
	size_t i;

	for (i = 0; i < p->nlevels; i++)
		free(p->levels[i].v);
	free(p->levels);
	free(p->drops);
	json_decref(p->targets);
	json_decref(p->scaling_del);
	json_decref(p->scaling_put);
	json_decref(p->warnings);
	json_decref(p->suppressed);
	memset(p, 0, sizeof(*p));
}
