/*
 * docker.c - containers through the Docker Engine API (Docker, or Podman's compatible API).
 */
#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "origin", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "image", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "tag", COMP_REQUIRED, COMP_T_STR | COMP_T_NUM, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	/* beyond Occopus */
	{ "network", 0, COMP_T_STR, 0 },
	{ "ports", 0, COMP_T_LIST, COMP_T_INT | COMP_T_STR },
	{ "labels", 0, COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_schema schema = { "resource", "docker", keys, NULL };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__docker_ops = {
	.name = "docker",
	.schema = &schema,
};
