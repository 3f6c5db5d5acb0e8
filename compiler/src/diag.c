/*
 * diag.c - collecting, sorting and printing diagnostics.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "occo/compiler/diag.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"

#define DEFAULT_MAX 100

void comp_diags_init(struct comp_diags *d)
{
	memset(d, 0, sizeof(*d));
	d->max = DEFAULT_MAX;
}

void comp_diags_release(struct comp_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void comp_diag_add(struct comp_diags *d, enum comp_severity sev, const struct occo_yaml_mark *mark,
		   const char *fmt, ...)
{
	struct comp_diag *g;
	va_list ap;

	if (sev == COMP_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= (d->max ? d->max : DEFAULT_MAX)) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = occo_reallocarray(d->v, d->cap, sizeof(*d->v));
	}
	g = &d->v[d->n++];
	g->severity = sev;
	g->file = mark && mark->file ? occo_strdup(mark->file) : NULL;
	g->line = mark ? mark->line : 0;
	g->col = mark ? mark->col : 0;
	va_start(ap, fmt);
	g->msg = occo_vasprintf(fmt, ap);
	va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct comp_diag *x = a, *y = b;
	int c;

	if (!x->file || !y->file)
		return (x->file ? 1 : 0) - (y->file ? 1 : 0);
	c = strcmp(x->file, y->file);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

static void diag_format(struct occo_buf *b, const struct comp_diag *g)
{
	const char *sev = g->severity == COMP_ERROR ? "error" : "warning";

	if (g->file)
		occo_buf_appendf(b, NULL, "%s:%u:%u: %s: %s\n", g->file, g->line, g->col, sev,
				 g->msg);
	else
		occo_buf_appendf(b, NULL, "%s: %s\n", sev, g->msg);
}

/* A copy in a stable order: by position, ties kept in the order found (NULL when empty). */
static struct comp_diag *diags_sorted(const struct comp_diags *d)
{
	struct comp_diag *sorted;
	size_t i;

	if (!d->n)
		return NULL;
	sorted = occo_malloc(d->n * sizeof(*sorted));
	memcpy(sorted, d->v, d->n * sizeof(*sorted));
	for (i = 1; i < d->n; i++) {
		struct comp_diag t = sorted[i];
		size_t j = i;

		while (j > 0 && diag_cmp(&sorted[j - 1], &t) > 0) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = t;
	}
	return sorted;
}

char *comp_diags_text(const struct comp_diags *d)
{
	struct comp_diag *sorted = diags_sorted(d);
	struct occo_buf b;
	size_t i;

	occo_buf_init(&b, (size_t)64 << 20);
	for (i = 0; sorted && i < d->n; i++)
		diag_format(&b, &sorted[i]);
	free(sorted);
	if (d->dropped)
		occo_buf_appendf(&b, NULL, "(%zu more not shown)\n", d->dropped);
	return occo_buf_detach(&b, NULL);
}

json_t *comp_diags_json(const struct comp_diags *d)
{
	struct comp_diag *sorted = diags_sorted(d);
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; sorted && i < d->n; i++) {
		o = json_pack("{s:s}", "severity",
			      sorted[i].severity == COMP_ERROR ? "error" : "warning");
		if (sorted[i].file) {
			json_object_set_new(o, "file", json_string(sorted[i].file));
			json_object_set_new(o, "line", json_integer(sorted[i].line));
			json_object_set_new(o, "column", json_integer(sorted[i].col));
		}
		json_object_set_new(o, "message", json_string(sorted[i].msg));
		json_array_append_new(a, o);
	}
	free(sorted);
	return a;
}

void comp_diags_print(const struct comp_diags *d, FILE *f)
{
	char *s = comp_diags_text(d);

	fputs(s, f);
	free(s);
}

int comp_diags_to_err(const struct comp_diags *d, struct occo_err *err)
{
	const struct comp_diag *first = NULL;
	size_t i;

	if (!d->nerrors)
		return 0;
	for (i = 0; i < d->n; i++) {
		if (d->v[i].severity == COMP_ERROR && (!first || diag_cmp(&d->v[i], first) < 0))
			first = &d->v[i];
	}
	if (!first)
		return occo_err_set(err, OCCO_EINVAL, "%zu errors", d->nerrors);
	if (d->nerrors == 1) {
		if (first->file)
			return occo_err_set(err, OCCO_EINVAL, "%s:%u:%u: %s", first->file,
					    first->line, first->col, first->msg);
		return occo_err_set(err, OCCO_EINVAL, "%s", first->msg);
	}
	if (first->file)
		return occo_err_set(err, OCCO_EINVAL, "%zu errors; the first: %s:%u:%u: %s",
				    d->nerrors, first->file, first->line, first->col, first->msg);
	return occo_err_set(err, OCCO_EINVAL, "%zu errors; the first: %s", d->nerrors, first->msg);
}
