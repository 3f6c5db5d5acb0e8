/*
 * infobroker_int.h - what the infobroker's sources share: turning a Redis reply into an error,
 * and JSON in and out of Redis values.
 */
#ifndef OCCO_INFOBROKER_INT_H
#define OCCO_INFOBROKER_INT_H

#include <jansson.h>

#include "occo/util/json.h"

#include "occo/util/err.h"
#include "occo/util/redis.h"

/*
 * Check a command's outcome. A transport failure (err set) is copied into out with `what` in
 * front; a Redis error reply becomes -OCCO_EREMOTE "<what>: <redis name>: <reply>". Returns 0
 * when reply can be used.
 */
int ib__reply_check(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    struct occo_err *out, const char *what);

/* A reply that has not the expected type: -OCCO_EPROTO naming what was asked. */
int ib__reply_unexpected(struct occo_redis *r, const redisReply *reply, struct occo_err *out,
			 const char *what);

/* Compact JSON text of any value (malloc'd), or NULL when v cannot be encoded. */
char *ib__json_dump(const json_t *v);

/*
 * Parse a value read from Redis (any JSON value). On failure -OCCO_EPROTO naming the key and,
 * when not NULL, the hash field. *out is a new reference on success.
 */
int ib__json_parse(struct occo_redis *r, const char *s, size_t len, const char *key,
		   const char *field, json_t **out, struct occo_err *err);
/*
 * The same, sharing equal small values through sh (util/json.h): the description is parsed
 * piece by piece and shared as it goes.
 */
int ib__json_parse_shared(struct occo_redis *r, const char *s, size_t len, const char *key,
			  const char *field, struct occo_json_sharer *sh, json_t **out,
			  struct occo_err *err);

#endif
