/*
 * workflow.h - a workflow file (libconfig syntax) loaded into a validated DAG.
 *
 * Loading does everything that can be checked without running anything:
 * syntax, known kinds and parameters (with "did you mean"), types and ranges,
 * `foreach` expansion, `{params.NAME}` references, `--set` overrides,
 * duplicate ids, inputs that name no stage, placeholders, cycles.  Every
 * error names the file and line (or the --set argument) and what was
 * expected; nothing is written anywhere.
 *
 *   name = "demo";
 *   executor = "local";                        // or "slurm" (--executor overrides)
 *   resources = { cpus = 1; mem = "2G"; };     // defaults for every stage
 *   params = { size = 64; };                   // values stages may reference
 *   stages = (
 *     { id = "a"; kind = "command"; command = "echo {params.size} > {out}/n"; },
 *     { id = "b_{x}"; kind = "command"; foreach = { x = [1, 2]; };
 *       inputs = ["a"]; command = "cat {in.a}/n > {out}/n"; }
 *   );
 */
#ifndef SUL_WORKFLOW_H
#define SUL_WORKFLOW_H

#include <stddef.h>

#include "dag.h"
#include "err.h"
#include "hash.h"
#include "kind.h"
#include "resources.h"
#include "strmap.h"
#include "value.h"

struct sul_stage {
	char *id;
	const struct sul_kind *kind;
	char **inputs;          /* input stage ids, in the order written (globs expanded) */
	size_t *input_idx;      /* their indexes in wf->stages */
	size_t ninputs;
	struct sul_param *params;  /* effective: defaults, references, overrides; sorted */
	size_t nparams;
	struct sul_param *keys;    /* kind-specific top-level keys; sorted */
	size_t nkeys;
	char **files;           /* external files/folders as written (relative to wf->dir) */
	size_t nfiles;
	struct sul_resources resources;  /* kind defaults < workflow's < stage's (resources.h) */
	const char *file;       /* where the stage was written */
	int line;
	const char *dir;        /* the workflow's folder (wf->dir): relative paths resolve here */
};

struct sul_workflow {
	char *name;
	char *path;             /* as given */
	char *dir;              /* absolute folder of the file: relative paths resolve here */
	sul_hex sha256;         /* of the file's bytes */
	struct sul_param *globals;
	size_t nglobals;
	char *executor;         /* `executor = "...";`, or NULL */
	struct sul_resources resources;  /* top-level `resources`: defaults for every stage */
	struct sul_stage *stages;  /* in file order, foreach expanded in place */
	size_t nstages;
	struct sul_dag_node *dag;  /* the stages as dag.h sees them (same order) */
	struct sul_strmap index;   /* id -> index */
	char **overrides;       /* the --set arguments, as given */
	size_t noverrides;
	char **pool;            /* interned source file names */
	size_t npool;
};

/*
 * Loads and validates the workflow at path, applying sets[0..nsets) (each
 * "ID.NAME=VALUE"; ID may be a glob, or "params" for a workflow parameter).
 * On failure err->kind is SUL_ERR_INPUT for bad input and wf is released.
 */
int sul_workflow_load(const char *path, const char *const *sets, size_t nsets,
		      struct sul_workflow *wf, struct sul_err *err);
void sul_workflow_release(struct sul_workflow *wf);

/*
 * What `sulcus check` adds to loading: every stage's `files` and every path
 * parameter that is not empty name something that exists (relative ones
 * against the workflow's folder).  Loading leaves this to the run, where a
 * missing file fails its stage alone.  The error names the first missing
 * one, at the parameter's line or the stage's.
 */
int sul_workflow_check_paths(const struct sul_workflow *wf, struct sul_err *err);

/* Index of stage id, or -1. */
long sul_workflow_find(const struct sul_workflow *wf, const char *id);

/* A stage's external files resolved against wf->dir.  Caller frees. */
/* "an integer", "a string", ...: a libconfig setting type (CONFIG_TYPE_*) in
 * words, for messages about libconfig files (workflows, report specs). */
const char *sul_config_type_word(int type);

char *sul_workflow_path(const struct sul_workflow *wf, const char *path);

#endif
