/*
 * check_kinds.c - the kind table of the unit-test binary: the real kinds it
 * tests plus `probe`, a kind with a full parameter schema, so that schema
 * validation (types, ranges, choices, defaults, unknown names) is tested
 * independently of which native kinds the project ships.
 */
#include "check_util.h"
#include "../engine/kind.h"

#include <string.h>

extern const struct sul_kind sul_kind_command;
extern const struct sul_kind sul_kind_ingest;
extern const struct sul_kind sul_kind_split;

static const struct sul_param_spec probe_params[] = {
	{ "epochs", SUL_T_INT, "10", 1, 1000, NULL, "training epochs" },
	{ "lr", SUL_T_FLOAT, "0.01", 0, 1, NULL, "learning rate" },
	{ "method", SUL_T_STRING, "gradcam", 0, 0, "cam|gradcam|gradcampp", "heatmap method" },
	{ "net", SUL_T_PATH, NULL, 0, 0, NULL, "network cfg" },
	{ "verbose", SUL_T_BOOL, "false", 0, 0, NULL, "say more" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};


static int probe_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

static const struct sul_kind probe = {
	.name = "probe",
	.version = 3,
	.doc = "a kind with a schema, for tests",
	.params = probe_params,
	.run = probe_run,
};

static const struct sul_kind *const table[] = { &sul_kind_command, &probe, &sul_kind_ingest, &sul_kind_split };

const struct sul_kind *const *sul_kinds(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct sul_kind *sul_kind_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}
