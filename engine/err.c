/* err.c - filling and prefixing struct sul_err (see err.h). */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 0)))
static void vset(struct sul_err *err, enum sul_err_kind kind, const char *fmt, va_list ap)
{
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int sul_err_set(struct sul_err *err, enum sul_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int sul_err_sys(struct sul_err *err, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err, SUL_ERR_FAIL, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int sul_err_prefix(struct sul_err *err, const char *fmt, ...)
{
	char prefix[SUL_ERR_MSG_MAX];
	char joined[SUL_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	{
		size_t plen = strlen(prefix), mlen = strlen(err->msg);
		if (plen + 2 + mlen >= sizeof(joined))
			mlen = plen + 2 < sizeof(joined) - 1 ? sizeof(joined) - 1 - plen - 2 : 0;
		if (plen + 2 >= sizeof(joined))
			plen = sizeof(joined) - 3;
		memcpy(joined, prefix, plen);
		memcpy(joined + plen, ": ", 2);
		memcpy(joined + plen + 2, err->msg, mlen);
		joined[plen + 2 + mlen] = '\0';
	}
	memcpy(err->msg, joined, sizeof(err->msg));
	if (err->kind == SUL_ERR_NONE)
		err->kind = SUL_ERR_FAIL;
	return -1;
}

void sul_err_clear(struct sul_err *err)
{
	err->kind = SUL_ERR_NONE;
	err->msg[0] = '\0';
}

int sul_err_exit_code(const struct sul_err *err)
{
	return err->kind == SUL_ERR_INPUT ? 2 : 3;
}
