/* fault.c - fault injection for tests (see fault.h): no-ops unless SUL_FAULTS. */
#include "fault.h"

#ifndef SUL_FAULTS

void sul_fault_crash(const char *point)
{
	(void)point;
}

int sul_fault_fail(const char *call)
{
	(void)call;
	return 0;
}

void sul_fault_forked(void)
{
}

#else

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Counts of what this process has reached, per name.  A handful of names:
 * a list is enough. */
struct count {
	char name[48];
	long n;
};
static struct count counts[64];

static long bump(const char *kind, const char *name)
{
	char key[48];
	size_t i;

	snprintf(key, sizeof(key), "%s %s", kind, name);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]) && counts[i].name[0]; i++)
		if (!strcmp(counts[i].name, key))
			return ++counts[i].n;
	if (i == sizeof(counts) / sizeof(counts[0]))
		return 0;
	memcpy(counts[i].name, key, sizeof(key));
	return counts[i].n = 1;
}

/* One line per event, written with O_APPEND so that processes interleave
 * whole lines. */
static void trace(const char *kind, const char *name)
{
	const char *path = getenv("SULCUS_FAULT_TRACE");
	char line[96];
	int fd, n, saved = errno;

	if (!path || !*path)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", kind, name);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) < 0) {
			/* a test's trace file: nothing to do about it */
		}
		close(fd);
	}
	errno = saved;
}

/* Parses "name[:N[:rest]]" from the environment variable var; 1 when it
 * names name, with *nth and *rest filled. */
static int wanted(const char *var, const char *name, long *nth, const char **rest)
{
	const char *v = getenv(var), *colon;
	size_t len;

	if (!v)
		return 0;
	colon = strchr(v, ':');
	len = colon ? (size_t)(colon - v) : strlen(v);
	if (len != strlen(name) || strncmp(v, name, len))
		return 0;
	*nth = colon ? strtol(colon + 1, NULL, 10) : 1;
	*rest = colon ? strchr(colon + 1, ':') : NULL;
	if (*rest)
		(*rest)++;
	return 1;
}

void sul_fault_crash(const char *point)
{
	long n = bump("crash", point), nth;
	const char *rest;

	trace("crash", point);
	if (!wanted("SULCUS_CRASH_AT", point, &nth, &rest) || n != nth)
		return;
	/* SEGV and ABRT: as a crash or an assert inside a library would end. */
	raise(rest && !strcmp(rest, "SEGV") ? SIGSEGV : rest && !strcmp(rest, "ABRT") ? SIGABRT : SIGKILL);
}

int sul_fault_fail(const char *call)
{
	long n = bump("call", call), nth;
	const char *rest;

	trace("call", call);
	if (!wanted("SULCUS_FAIL_AT", call, &nth, &rest) || n != nth)
		return 0;
	errno = rest && !strcmp(rest, "EIO") ? EIO : ENOSPC;
	return errno;
}

void sul_fault_forked(void)
{
	memset(counts, 0, sizeof(counts));
}

#endif
