/*
 * err.h - the one error convention of sulcus.
 *
 * A function that can fail returns 0 on success and -1 on failure, and fills
 * the `struct sul_err *` passed as its last argument with one message.  The
 * function that detects a problem states the specific fact; callers add
 * context while unwinding with sul_err_prefix().  Nothing below main() prints
 * or exits.  Messages are lowercase, subjects in quotes:
 *
 *   workflows/x.cfg:12: stage 'train': parameter 'epochs': expected ..., got '...'
 */
#ifndef SUL_ERR_H
#define SUL_ERR_H

#include <stddef.h>

enum sul_err_kind {
	SUL_ERR_NONE = 0,
	SUL_ERR_INPUT,   /* bad input from the user: exit status 2 */
	SUL_ERR_FAIL,    /* sulcus could not do its own work (database, lock,
			  * disk): exit status 3.  A stage that fails is not
			  * an error of sulcus: `run` exits 1 for it. */
};

#define SUL_ERR_MSG_MAX 2048

struct sul_err {
	enum sul_err_kind kind;
	char msg[SUL_ERR_MSG_MAX];
};

#define SUL_ERR_INIT { SUL_ERR_NONE, "" }

/* Sets the message (replacing any earlier one).  Always returns -1, so that
 * `return sul_err_set(err, ...)` reads naturally.  err may be NULL. */
int sul_err_set(struct sul_err *err, enum sul_err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like sul_err_set(SUL_ERR_FAIL), appending ": strerror(errno)". */
int sul_err_sys(struct sul_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "CONTEXT: " to the message.  Returns -1. */
int sul_err_prefix(struct sul_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void sul_err_clear(struct sul_err *err);

/* Exit status for an error: 2 for bad input, 3 otherwise. */
int sul_err_exit_code(const struct sul_err *err);

#endif
