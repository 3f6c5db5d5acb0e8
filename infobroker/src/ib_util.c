/*
 * ib_util.c - reply checking and JSON values, shared by the infobroker's sources
 * (infobroker_int.h).
 */
#include "infobroker_int.h"

int ib__reply_check(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    struct occo_err *out, const char *what)
{
	if (err) {
		occo_err_copy(out, err);
		return occo_err_prefix(out, "%s", what);
	}
	if (reply->type == REDIS_REPLY_ERROR)
		return occo_err_set(out, OCCO_EREMOTE, "%s: %s: %s", what, occo_redis_name(r),
				    reply->str);
	return 0;
}

int ib__reply_unexpected(struct occo_redis *r, const redisReply *reply, struct occo_err *out,
			 const char *what)
{
	return occo_err_set(out, OCCO_EPROTO, "%s: %s: unexpected reply (type %d)", what,
			    occo_redis_name(r), reply->type);
}

char *ib__json_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int parse(struct occo_redis *r, const char *s, size_t len, const char *key,
		 const char *field, struct occo_json_sharer *sh, json_t **out, struct occo_err *err)
{
	json_error_t jerr;
	json_t *v = NULL;

	if (sh) {
		if (occo_json_load_shared(s, len, sh, &v, &jerr) < 0)
			v = NULL;
	} else {
		v = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
	}
	if (!v) {
		if (field)
			return occo_err_set(err, OCCO_EPROTO,
					    "%s: %s field '%s' is not valid JSON: %s (column %d)",
					    occo_redis_name(r), key, field, jerr.text, jerr.column);
		return occo_err_set(err, OCCO_EPROTO, "%s: %s is not valid JSON: %s (column %d)",
				    occo_redis_name(r), key, jerr.text, jerr.column);
	}
	*out = v;
	return 0;
}

int ib__json_parse(struct occo_redis *r, const char *s, size_t len, const char *key,
		   const char *field, json_t **out, struct occo_err *err)
{
	return parse(r, s, len, key, field, NULL, out, err);
}

int ib__json_parse_shared(struct occo_redis *r, const char *s, size_t len, const char *key,
			  const char *field, struct occo_json_sharer *sh, json_t **out,
			  struct occo_err *err)
{
	return parse(r, s, len, key, field, sh, out, err);
}
