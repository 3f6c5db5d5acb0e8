/*
 * diag.h - diagnostics: every error and warning found in a file, each with its position.
 *
 * The compiler reports all problems of a file in one run instead of stopping at the first, in
 * the form compilers use:
 *   infra.yaml:12:5: error: unknown key 'nmae' in node 'web'
 */
#ifndef OCCO_COMPILER_DIAG_H
#define OCCO_COMPILER_DIAG_H

#include <stdio.h>

#include <jansson.h>

#include "occo/util/err.h"
#include "occo/util/yaml.h"

enum comp_severity {
	COMP_ERROR = 0,
	COMP_WARNING = 1,
};

struct comp_diag {
	enum comp_severity severity;
	char *file; /* NULL when the problem has no position */
	unsigned line, col;
	char *msg;
};

struct comp_diags {
	struct comp_diag *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
	size_t max; /* diagnostics kept; later ones are counted only (default 100) */
	size_t dropped;
};

void comp_diags_init(struct comp_diags *d);
void comp_diags_release(struct comp_diags *d);

/* Add one. `mark` may be NULL. */
void comp_diag_add(struct comp_diags *d, enum comp_severity sev, const struct occo_yaml_mark *mark,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Print all, one a line ("FILE:LINE:COL: error: msg"), sorted by position, to `f`. */
void comp_diags_print(const struct comp_diags *d, FILE *f);

/*
 * Summarise the errors into `err` ("infra.yaml:3:1: error: ...", or "N errors; the first:
 * ...") and return -OCCO_EINVAL; 0 when there is no error.
 */
int comp_diags_to_err(const struct comp_diags *d, struct occo_err *err);

/* Every diagnostic as one text (the lines comp_diags_print writes). The caller frees it. */
char *comp_diags_text(const struct comp_diags *d);

/*
 * Every diagnostic, sorted as printed, as a new JSON array of {severity, file, line, column,
 * message} (no file, line and column when it has no position).
 */
json_t *comp_diags_json(const struct comp_diags *d);

#endif
