/*
 * check_kinds.c - `probe`, a kind with a full parameter schema that only the
 * unit tests have (stages/kinds.c finds it through sul_test_kinds), so that
 * schema validation (types, ranges, choices, defaults, unknown names) is
 * tested independently of which kinds the project ships.
 */
#include "check_util.h"
#include "../engine/kind.h"

#include <string.h>

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

/* Found by sul_kind_find beside the real kinds (stages/kinds.c); `fake`
 * is the scheduler tests' (check_sched.c). */
extern const struct sul_kind sul_test_kind_fake;
extern const struct sul_kind *const sul_test_kinds[];
const struct sul_kind *const sul_test_kinds[] = { &probe, &sul_test_kind_fake, NULL };
