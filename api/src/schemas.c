/*
 * schemas.c - joining the plugin libraries' schema tables.
 */
#include <pthread.h>

#include "occo/api/schemas.h"
#include "occo/configmanager/cm.h"
#include "occo/infraprocessor/schema.h"
#include "occo/resourcehandler/rh.h"

#define MAX_SCHEMAS 64

static const struct comp_schema *all[MAX_SCHEMAS + 1];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void join(void)
{
	const struct comp_schema *const *lists[] = { rh_schemas(), cm_schemas(), iproc_schemas() };
	size_t i, n = 0;
	const struct comp_schema *const *s;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (s = lists[i]; *s && n < MAX_SCHEMAS; s++)
			all[n++] = *s;
	all[n] = NULL;
}

const struct comp_schema *const *api_schemas(void)
{
	pthread_once(&once, join);
	return all;
}
