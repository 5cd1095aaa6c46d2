/*
 * child.h - starting a child process the careful way (after git's
 * start_command): all signals blocked across fork(), handlers reset and the
 * mask cleared in the child before exec, its own process group (so a kill
 * reaches everything it starts), stdin from /dev/null, stdout and stderr to a
 * log file.  Every descriptor the engine opens is O_CLOEXEC, so the child
 * inherits nothing else.
 */
#ifndef SUL_CHILD_H
#define SUL_CHILD_H

#include <sys/types.h>

#include "err.h"
#include "strbuf.h"

struct sul_child {
	const char *const *argv;   /* argv[0] is the program path */
	const char *log_path;      /* created/truncated; NULL: inherit stdout/stderr */
	const char *cwd;           /* NULL: inherit */
	const char *const *env;    /* "NAME=VALUE" entries added to the environment; may be NULL */
	/* When set, the child calls main_fn(main_arg) and exits with its status
	 * instead of exec'ing argv: a stage of the engine's own runs this way,
	 * without the 10-20 ms of loading the sulcus binary and its libraries
	 * again.  The child first closes every close-on-exec descriptor (the
	 * workspace lock, the database), as exec would have. */
	int (*main_fn)(void *arg);
	void *main_arg;
};

/* Starts the child; *pid is also its process group id.  argv[0] names it in
 * errors whether it is exec'd or not. */
int sul_child_start(const struct sul_child *c, pid_t *pid, struct sul_err *err);

/*
 * Runs argv (argv[0] looked up in PATH) to completion, with stdout and
 * stderr collected in out.  *status is the exit status (128 + N for signal
 * N).  Fails only when the program cannot be started at all.
 */
int sul_child_capture(const char *const *argv, struct sul_buf *out, int *status, struct sul_err *err);

#endif
