/*
 * wf_private.h - what the parts of the workflow loader share (workflow.c
 * runs them in order; workflow.h is the public side).
 *
 *   wf_parse.c   the libconfig file: includes, parse errors, locations
 *   wf_stage.c   top-level settings and stage groups into struct sul_stage
 *   wf_expand.c  foreach, loop variables and {params.NAME}
 *   wf_set.c     --set overrides
 *   wf_inputs.c  ids indexed, inputs (and their globs) resolved
 *   wf_check.c   parameters against the kind's schema, the kind's check()
 */
#ifndef SUL_WF_PRIVATE_H
#define SUL_WF_PRIVATE_H

#include <libconfig.h>

#include "fsutil.h"
#include "schema.h"
#include "strbuf.h"
#include "suggest.h"
#include "template.h"
#include "workflow.h"

/* The most stages one foreach may expand to. */
#define MAX_EXPANSION 100000

/* The engine's own keys of a stage group (wf_stage.c's stage_keys). */
#define NSTAGE_KEYS 7

/* Where a setting was written: "FILE:LINE". */
struct loc {
	const char *file;
	int line;
};

/* One loop variable of a foreach, bound to one of its values. */
struct binding {
	const char *name;
	const config_setting_t *value;
};

/* The state of one load: the workflow being filled, libconfig's tree, the
 * error to fill, the --set arguments. */
struct loader {
	struct sul_workflow *wf;
	size_t stages_alloc;
	config_t cfg;
	struct sul_err *err;
	const char *const *sets;  /* the --set arguments */
	size_t nsets;
};

/* What a substitution may use: the loop variables bound for this stage and,
 * when globals, the workflow's params; where and stage locate messages. */
struct subst {
	struct loader *ld;
	const char *stage;  /* id template, for messages */
	const struct binding *vars;
	size_t nvars;
	const config_setting_t *where;
	int globals;   /* also expand {params.NAME} from workflow params */
	const struct sul_param *via;  /* set by wf_subst_value: the workflow param a value was, or NULL */
};

/* A stage group's engine keys (stage_keys, in that order), found in one
 * pass: config_setting_get_member scans the group again for each name,
 * which a 10,000-stage workflow notices. */
struct stage_members {
	const config_setting_t *of[NSTAGE_KEYS];
};
enum { M_ID, M_KIND, M_INPUTS, M_PARAMS, M_FOREACH, M_FILES, M_RESOURCES };

/* wf_parse.c */
void wf_absolute_includes(const char *dir, struct sul_buf *text);
void wf_parse_error(struct sul_workflow *wf, const config_t *cfg, struct sul_err *err);
struct loc wf_loc_of(struct loader *ld, const config_setting_t *s);
int wf_fail_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void wf_add_suggestion(struct sul_buf *b, const char *word, const char *const *cands, size_t n);
int wf_scalar_value(struct loader *ld, const config_setting_t *s, const char *what,
			struct sul_value *v);

/* wf_expand.c */
char *wf_subst_str(struct subst *s, const char *str);
int wf_subst_value(struct subst *s, const config_setting_t *set, const char *what,
		struct sul_value *v);
char *wf_expand_id(struct subst *sb, const char *tmpl);
int wf_expand_foreach(struct loader *ld, const config_setting_t *g, const struct stage_members *sm,
		const struct sul_kind *kind, const char *id_tmpl);
int wf_import_globals(struct sul_workflow *wf, struct sul_stage *st, struct sul_err *err);

/* wf_stage.c */
void wf_add_param(struct sul_param **arr, size_t *n, const char *name, struct sul_value *v,
		struct loc l);
void wf_stage_release(struct sul_stage *st);
int wf_build_stage(struct loader *ld, const config_setting_t *g, const struct stage_members *sm,
		const struct sul_kind *kind, const char *id_tmpl, const struct binding *vars, size_t nvars);
int wf_read_root(struct loader *ld);

/* wf_inputs.c */
const char **wf_stage_ids(const struct sul_workflow *wf);
int wf_index_stages(struct sul_workflow *wf, struct sul_err *err);
int wf_is_glob(const char *s);
int wf_resolve_inputs(struct sul_workflow *wf, struct sul_err *err);

/* wf_set.c */
int wf_apply_global_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
		struct sul_err *err);
int wf_apply_stage_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
		struct sul_err *err);

/* wf_check.c */
int wf_fail_stage(struct sul_err *err, const struct sul_stage *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int wf_kind_check(const struct sul_workflow *wf, const struct sul_stage *st, struct sul_err *err);
int wf_check_params(struct sul_stage *st, struct sul_err *err);

#endif
