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

struct sul_child {
	const char *const *argv;   /* argv[0] is the program path */
	const char *log_path;      /* created/truncated; NULL: inherit stdout/stderr */
	const char *cwd;           /* NULL: inherit */
	const char *const *env;    /* "NAME=VALUE" entries added to the environment; may be NULL */
};

/* Starts the child; *pid is also its process group id. */
int sul_child_start(const struct sul_child *c, pid_t *pid, struct sul_err *err);

#endif
