/*
 * jobfile.h - the job file: what one stage execution needs, as a small file
 * that the stage's process reads to know what to run.
 *
 * Running a stage is a self-contained step: `sulcus stage-exec JOBFILE` needs
 * nothing but this file (kind, parameters, inputs' folders, where to build
 * and publish its output, where to write its result).  The local executor
 * runs it in a child process; a cluster executor runs it on another host
 * that shares the workspace.
 *
 * Format: a line "sulcus-stage 2", then one record per line, fields
 * separated by tabs, with \\, \t, \n and \r escaped in values:
 *   id ID | kind NAME | version N | key HEX | workdir DIR | staging DIR
 *   cache DIR | result FILE | param NAME TYPE TEXT | setting NAME TYPE TEXT
 *   input ID DIR KIND
 */
#ifndef SUL_JOBFILE_H
#define SUL_JOBFILE_H

#include "err.h"
#include "kind.h"
#include "value.h"

struct sul_jobfile {
	char *id, *kind, *key, *workdir, *staging, *cache, *result;
	int version;
	struct sul_param *params;
	size_t nparams;
	struct sul_param *keys;
	size_t nkeys;
	struct sul_input *inputs;   /* id, dir and kind owned */
	size_t ninputs;
};

int sul_jobfile_write(const char *path, const struct sul_jobfile *d, struct sul_err *err);
int sul_jobfile_read(const char *path, struct sul_jobfile *d, struct sul_err *err);
void sul_jobfile_release(struct sul_jobfile *d);

/* The result file a stage writes last: "ok\n", or "failed\tMESSAGE\n". */
int sul_result_write(const char *path, int ok, const char *msg, struct sul_err *err);
/* Returns 1 ok, 0 failed (msg filled), -1 no result (the child died first). */
int sul_result_read(const char *path, struct sul_buf *msg);

#endif
