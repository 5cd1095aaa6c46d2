/*
 * stage_exec.h - the child side of running one stage.
 *
 * `sulcus stage-exec JOBFILE` reads a job file (jobfile.h), runs the
 * kind's run() with the output folder inside a staging folder, publishes the
 * staging folder into the cache on success, and writes the result file last.
 * A child that dies or exits before writing its result has failed, whatever
 * its exit status: Darknet calls exit(0) on a missing file.
 */
#ifndef SUL_STAGE_EXEC_H
#define SUL_STAGE_EXEC_H

#include "err.h"

/* Returns 0 when the stage succeeded and was published.  On failure the
 * result file says why (when it could be written) and err too. */
int sul_stage_exec(const char *desc_path, struct sul_err *err);

#endif
