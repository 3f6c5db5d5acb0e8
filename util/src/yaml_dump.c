/*
 * yaml_dump.c - JSON values written as YAML text with libyaml's emitter.
 */
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "occo/util/yaml.h"

struct sink {
	struct occo_buf *out;
	struct occo_err *err;
	int failed;
};

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct sink *s = data;

	if (occo_buf_append(s->out, buffer, size, s->err) < 0) {
		s->failed = 1;
		return 0;
	}
	return 1;
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
	return yaml_emitter_emit(em, ev);
}

static int emit_scalar(yaml_emitter_t *em, const char *text, int plain_ok)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(
		&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), plain_ok, !plain_ok,
		plain_ok ? YAML_ANY_SCALAR_STYLE : YAML_SINGLE_QUOTED_SCALAR_STYLE);
	return emit(em, &ev);
}

/* Would a plain scalar with this text read back as something other than this string? */
static int needs_quotes(const char *s)
{
	static const char *const words[] = { "",      "~",    "null", "Null",  "NULL",
					     "true",  "True", "TRUE", "false", "False",
					     "FALSE", "yes",  "no",   "on",    "off",
					     "Yes",   "No",   "On",   "Off" };
	char *end;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return 1;
	strtod(s, &end);
	if (end != s && *end == '\0')
		return 1;
	if (s[0] == '.' || s[0] == '0')
		return 1; /* .inf, .nan, 0x.., 0o.. */
	return 0;
}

static int emit_value(yaml_emitter_t *em, const json_t *v, unsigned depth)
{
	yaml_event_t ev;
	char num[64];
	const char *k;
	json_t *x;
	size_t i;

	if (depth > 512)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!emit(em, &ev))
			return 0;
		json_object_foreach ((json_t *)v, k, x) {
			if (!emit_scalar(em, k, !needs_quotes(k)) || !emit_value(em, x, depth + 1))
				return 0;
		}
		yaml_mapping_end_event_initialize(&ev);
		return emit(em, &ev);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!emit(em, &ev))
			return 0;
		json_array_foreach (v, i, x) {
			if (!emit_value(em, x, depth + 1))
				return 0;
		}
		yaml_sequence_end_event_initialize(&ev);
		return emit(em, &ev);
	case JSON_STRING:
		return emit_scalar(em, json_string_value(v), !needs_quotes(json_string_value(v)));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return emit_scalar(em, num, 1);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		if (!strpbrk(num, ".eE"))
			strcat(num, ".0");
		return emit_scalar(em, num, 1);
	case JSON_TRUE:
		return emit_scalar(em, "true", 1);
	case JSON_FALSE:
		return emit_scalar(em, "false", 1);
	default:
		return emit_scalar(em, "null", 1);
	}
}

int occo_yaml_dump(const json_t *v, struct occo_buf *out, struct occo_err *err)
{
	struct sink s = { out, err, 0 };
	yaml_emitter_t em;
	yaml_event_t ev;
	size_t before = out->len;
	int ok;

	if (!yaml_emitter_initialize(&em))
		return occo_err_set(err, OCCO_ENOMEM, "cannot start the YAML emitter");
	yaml_emitter_set_output(&em, write_handler, &s);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = emit(&em, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	ok = ok && emit(&em, &ev);
	ok = ok && emit_value(&em, v, 0);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && emit(&em, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && emit(&em, &ev);
	ok = ok && yaml_emitter_flush(&em);
	if (!ok && !s.failed)
		occo_err_set(err, OCCO_EINVAL, "cannot write YAML: %s",
			     em.problem ? em.problem : "nested too deeply");
	yaml_emitter_delete(&em);
	if (!ok) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		return -(err && err->code ? err->code : OCCO_EINVAL);
	}
	return 0;
}
