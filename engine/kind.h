/*
 * kind.h - the interface between the engine and a stage kind.
 *
 * A kind is a constant `struct sul_kind` in one file under stages/ plus one
 * line in stages/kinds.def.  It declares its parameters (the schema the
 * engine validates workflows against and `sulcus kinds` documents), how
 * many inputs it takes, the database tables its stages fill, an optional
 * check() and a run() function; both see a struct sul_stage_ctx, never the
 * workflow's own structures.  The engine owns everything around run():
 * validation, cache key, temporary output folder, child process,
 * publishing, database.
 * run() executes in a child process, reads its inputs, writes only under
 * ctx->out, and reports failure through err; it never touches the cache or
 * the database.  Metrics go to ctx->out/metrics.tsv, timings to timings.tsv
 * (see sul_ctx_metric, sul_ctx_timing).
 *
 * Progress: run() tells how far it is by printing lines that start with
 * "progress: " to stderr (the stage's log; stderr is unbuffered, so each
 * line arrives at once), for example
 *
 *     progress: epoch 3/10 step 12/40 loss 0.81 250 images/s ETA 1m20s
 *
 * The text after the prefix is free: one short line (it shares a terminal
 * line with the other running stages; longer text is cut) with the step,
 * a rate and an ETA.  `sulcus run` shows the latest complete one of each
 * running stage (engine/progress.h); nothing parses it, and it is not part
 * of the stage's output or key.  One every few seconds is plenty.
 */
#ifndef SUL_KIND_H
#define SUL_KIND_H

#include <stddef.h>

#include "err.h"
#include "resources.h"
#include "value.h"

struct sul_param_spec {
	const char *name;
	enum sul_type type;
	const char *def;      /* default as text; NULL: required */
	double min, max;      /* allowed range of numbers, when min < max */
	const char *choices;  /* allowed strings "a|b|c", or NULL */
	const char *doc;      /* one line */
};

/* The kind accepts parameters that its schema does not list (command). */
#define SUL_KIND_FREE_PARAMS 1u

struct sul_input {
	const char *id;
	const char *dir;   /* the input stage's published output folder (NULL in check()) */
	const char *kind;  /* the input stage's kind */
};

/* How many inputs a kind takes, and of which kinds where that matters: the
 * engine refuses other counts with "expected WHAT, got N" and an input of
 * another kind with "input 'ID' is a KIND stage: expected WHAT".  what
 * NULL: any number, of any kind. */
struct sul_input_spec {
	size_t min, max;
	const char *what;     /* e.g. "exactly one input (the images' stage)" */
	const char *kinds;    /* "evaluate" or "a|b": the kinds an input may be; NULL: any */
};

/*
 * A table of the results database that a kind's stages fill: a stage writes
 * ctx->out/tables/NAME.tsv (a header of column names, then rows,
 * tab-separated; an empty field is NULL) and the engine loads its rows into
 * table NAME with the output's cache_key in front (engine/tables.h).  The
 * engine creates the table; when its declaration changes it rebuilds the
 * table from the cache entries still there, so a kind changes its columns
 * by changing this and nothing else.
 */
struct sul_table_spec {
	const char *name;     /* [a-z_][a-z0-9_]*, one kind's only */
	const char *doc;      /* one line: what a row is */
	const char *columns;  /* SQL column definitions after "cache_key TEXT NOT NULL,"; may hold -- comments */
	const char *index;    /* columns indexed after cache_key, e.g. "subject"; NULL: cache_key alone */
};

/* What check() and run() get.  Everything is borrowed and valid during the
 * call. */
struct sul_stage_ctx {
	const char *id;
	const char *out;       /* absolute, empty, writable: the only place to write (NULL in check()) */
	const char *workdir;   /* the workflow file's folder: relative paths resolve here */
	const struct sul_param *params;  /* defaults applied, sorted by name */
	size_t nparams;
	const struct sul_param *keys;    /* kind-specific top-level keys */
	size_t nkeys;
	const struct sul_input *inputs;
	size_t ninputs;
};

struct sul_kind {
	const char *name;
	int version;          /* bump when outputs change for the same inputs */
	const char *doc;
	const struct sul_param_spec *params;  /* ends with { NULL }; NULL: none */
	const struct sul_param_spec *keys;    /* kind-specific stage keys, ends with { NULL }; NULL: none */
	unsigned flags;
	/* What a stage of this kind asks a cluster for unless the workflow says
	 * otherwise (NULL: nothing). */
	const struct sul_resource_defaults *resources;
	struct sul_input_spec inputs;
	const struct sul_table_spec *tables;  /* ends with { NULL }; NULL: none */
	/* Optional checks beyond the schema and the input count, at validation
	 * time, on the same parameters run() will get (typed, defaulted, in
	 * range).  The engine puts the location in front of the message: the
	 * line of the parameter or key named in *about, or of the stage when
	 * *about stays NULL; the message says the rest ("parameter 'x': ..."). */
	int (*check)(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err);
	int (*run)(const struct sul_stage_ctx *ctx, struct sul_err *err);
};

/* All registered kinds (stages/kinds.def), and lookup by name. */
const struct sul_kind *const *sul_kinds(size_t *n);
const struct sul_kind *sul_kind_find(const char *name);

/* Accessors for run().  A missing name is a programmer error (assert):
 * the engine has validated the parameters against the schema. */
const struct sul_value *sul_ctx_param(const struct sul_stage_ctx *ctx, const char *name);
long long sul_ctx_int(const struct sul_stage_ctx *ctx, const char *name);
double sul_ctx_float(const struct sul_stage_ctx *ctx, const char *name);
const char *sul_ctx_str(const struct sul_stage_ctx *ctx, const char *name);
/* A path parameter resolved against ctx->workdir.  Caller frees. */
char *sul_ctx_path(const struct sul_stage_ctx *ctx, const char *name);
const struct sul_value *sul_ctx_key(const struct sul_stage_ctx *ctx, const char *name);
/* The output folder of input id, or NULL. */
const char *sul_ctx_input(const struct sul_stage_ctx *ctx, const char *id);
/* An ETA for a progress line: "4m05s", or "2h13m" from an hour on. */
void sul_format_eta(double seconds, char buf[32]);

/* Appends "name<TAB>step<TAB>value" to ctx->out/metrics.tsv; step < 0: none. */
int sul_ctx_metric(const struct sul_stage_ctx *ctx, const char *name, long step, double value,
		   struct sul_err *err);
/* The same into ctx->out/timings.tsv: a measurement of this execution
 * (images per second, seconds) that is not part of the output's digest
 * (metrics.h). */
int sul_ctx_timing(const struct sul_stage_ctx *ctx, const char *name, long step, double value,
		   struct sul_err *err);

#endif
