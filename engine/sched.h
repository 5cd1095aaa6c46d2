/*
 * sched.h - deciding what runs, running it, and recording it.
 *
 * Stages are visited inputs-first.  A stage's key can be computed once all
 * its inputs have an output digest (cached, or just ran).  A stage whose key
 * has a cache entry is reused; otherwise it runs through the executor, up
 * to `jobs` at a time.  A failed stage skips everything downstream of it;
 * without keep_going no new stage starts after a failure.  `plan` walks the
 * same way without running: a stage downstream of one that would run cannot
 * know its key yet, and says so.
 */
#ifndef SUL_SCHED_H
#define SUL_SCHED_H

#include <stdio.h>

#include "err.h"
#include "executor.h"
#include "workflow.h"
#include "workspace.h"

struct sul_sched_opts {
	int jobs;                    /* stages in flight at most (>= 1) */
	int keep_going;
	int verbose;                 /* also print cached stages */
	int quiet;                   /* print nothing but errors */
	const char *const *force;    /* stage ids or globs to run even if cached */
	size_t nforce;
	const char *const *only;     /* stage ids or globs: run these and what they need */
	size_t nonly;
	const char *argv_json;       /* the command line, recorded with the run */
	FILE *progress;              /* where the run's lines go (stderr); unless quiet
	                              * also the running stages' progress (progress.h):
	                              * a live line on a terminal, plain lines elsewhere */
};

struct sul_sched_summary {
	long long run_id;
	size_t ran, cached, failed, skipped;
	int interrupted_by;          /* signal number, or 0 */
};

/* Checks --force/--only patterns against the workflow (bad input: exit 2). */
int sul_sched_check_selection(const struct sul_workflow *wf, const struct sul_sched_opts *o,
			      struct sul_err *err);

/*
 * Runs the workflow.  Returns 0 when the run could be carried out (stages
 * may still have failed: see the summary), -1 when the engine itself failed.
 */
int sul_sched_run(struct sul_workspace *ws, const struct sul_workflow *wf, struct sul_executor *ex,
		  const struct sul_sched_opts *o, struct sul_sched_summary *sum, struct sul_err *err);

/* Prints what `run` would do and why, to out.  ws->db may be NULL. */
int sul_sched_plan(struct sul_workspace *ws, const struct sul_workflow *wf,
		   const struct sul_sched_opts *o, FILE *out, struct sul_err *err);

#endif
