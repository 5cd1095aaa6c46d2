/* child.c - fork/exec with process groups and clean signal state (see child.h). */
#include "child.h"
#include "fault.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_fail(const char *what, const char *arg)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "sulcus: %s '%s': %s\n", what, arg, strerror(errno));
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		_exit(127);
	_exit(127);
}

/* In a new child: default handlers for every signal, then an empty mask. */
static void reset_signals(void)
{
	struct sigaction dfl;
	sigset_t none;
	int sig;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In a forked child that will not exec: close what exec would have closed,
 * so that the child does not keep the workspace lock (an flock, shared
 * across fork) or the database open behind the engine's back. */
static void close_cloexec_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = (int)strtol(e->d_name, NULL, 10), flags;
		if (fd <= 2 || fd == dirfd(d))
			continue;
		flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && (flags & FD_CLOEXEC))
			close(fd);
	}
	closedir(d);
}

int sul_child_start(const struct sul_child *c, pid_t *pid, struct sul_err *err)
{
	sigset_t all, old;
	int logfd = -1, nullfd, ret = -1;
	pid_t p;

	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0)
		return sul_err_sys(err, "cannot open /dev/null");
	if (c->log_path) {
		logfd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (logfd < 0) {
			sul_err_sys(err, "cannot create log '%s'", c->log_path);
			close(nullfd);
			return -1;
		}
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	fflush(NULL);
	p = fork();
	if (p == 0) {
		setpgid(0, 0);
		reset_signals();
		if (dup2(nullfd, 0) < 0)
			child_fail("cannot redirect stdin to", "/dev/null");
		if (logfd >= 0 && (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
			child_fail("cannot redirect output to", c->log_path);
		if (c->cwd && chdir(c->cwd))
			child_fail("cannot enter", c->cwd);
		for (const char *const *e = c->env; e && *e; e++)
			if (putenv((char *)*e))
				child_fail("cannot set", *e);
		if (c->main_fn) {
			int status;
			close_cloexec_fds();
			sul_fault_forked();
			status = c->main_fn(c->main_arg);
			fflush(NULL);
			_exit(status);
		}
		execv(c->argv[0], (char *const *)c->argv);
		child_fail("cannot run", c->argv[0]);
	}
	if (p < 0) {
		sul_err_sys(err, "cannot start '%s'", c->argv[0]);
	} else {
		/* Also here: the parent may signal the group before the child ran setpgid. */
		setpgid(p, p);
		*pid = p;
		ret = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(nullfd);
	if (logfd >= 0)
		close(logfd);
	return ret;
}

int sul_child_capture(const char *const *argv, struct sul_buf *out, int *status, struct sul_err *err)
{
	int fds[2], st, errpipe[2];
	sigset_t all, old;
	pid_t p;
	char buf[4096];
	ssize_t n;
	int exec_errno = 0;

	if (pipe2(fds, O_CLOEXEC))
		return sul_err_sys(err, "pipe");
	/* A second pipe reports a failed exec (its write end closes on a good one). */
	if (pipe2(errpipe, O_CLOEXEC)) {
		close(fds[0]);
		close(fds[1]);
		return sul_err_sys(err, "pipe");
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	fflush(NULL);
	p = fork();
	if (p == 0) {
		int sig, nullfd = open("/dev/null", O_RDONLY);

		reset_signals();
		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvp(argv[0], (char *const *)argv);
		sig = errno;
		if (write(errpipe[1], &sig, sizeof(sig)) < 0)
			_exit(127);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	close(errpipe[1]);
	if (p < 0) {
		close(fds[0]);
		close(errpipe[0]);
		return sul_err_sys(err, "cannot start '%s'", argv[0]);
	}
	while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		sul_buf_add(out, buf, (size_t)n);
	}
	close(fds[0]);
	if (read(errpipe[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0;
	close(errpipe[0]);
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	if (exec_errno) {
		errno = exec_errno;
		return sul_err_sys(err, "cannot run '%s'", argv[0]);
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}
