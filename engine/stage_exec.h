/*
 * stage_exec.h - the child side of running one stage.
 *
 * `sulcus stage-exec JOBFILE` reads a job file (jobfile.h), or a fork of the
 * engine gets the job in memory; either runs the
 * kind's run() with the output folder inside a staging folder, publishes the
 * staging folder into the cache on success, and writes the result file last.
 * A child that dies or exits before writing its result has failed, whatever
 * its exit status: Darknet calls exit(0) on a missing file.
 */
#ifndef SUL_STAGE_EXEC_H
#define SUL_STAGE_EXEC_H

#include "jobfile.h"
#include "err.h"

/* Returns 0 when the stage succeeded and was published.  On failure the
 * result file says why (when it could be written) and err too. */
int sul_stage_exec_job(const struct sul_jobfile *d, struct sul_err *err);

/* The same, the job read from a file (`sulcus stage-exec JOBFILE`). */
int sul_stage_exec(const char *jobfile_path, struct sul_err *err);

/* The main of a stage's process, under `sulcus stage-exec JOBFILE` or in a fork
 * of the engine that does not exec: runs the stage, prints its one error as
 * main would, and returns the exit status. */
int sul_stage_main(const struct sul_jobfile *d);

#endif
