/* strbuf.c - growable strings and abort-on-OOM allocation (see strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char sul_buf_empty[1];

static void out_of_memory(size_t n)
{
	/* The one place below main() that terminates: there is no sane way on. */
	char msg[80];
	int len = snprintf(msg, sizeof(msg), "sulcus: out of memory (%zu bytes)\n", n);
	if (write(2, msg, (size_t)len) < 0)
		abort();
	abort();
}

void *sul_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *sul_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *sul_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *sul_xstrdup(const char *s)
{
	return sul_xstrndup(s, strlen(s));
}

char *sul_xstrndup(const char *s, size_t n)
{
	char *p = sul_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sul_xasprintf(const char *fmt, ...)
{
	struct sul_buf b = SUL_BUF_INIT;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)  /* an invalid format or a result over INT_MAX: a programming error */
		abort();
	sul_buf_grow(&b, (size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(b.buf, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b.len = (size_t)len;
	return sul_buf_detach(&b);
}

void sul_buf_init(struct sul_buf *b)
{
	b->buf = sul_buf_empty;
	b->len = 0;
	b->alloc = 0;
}

void sul_buf_release(struct sul_buf *b)
{
	if (b->alloc)
		free(b->buf);
	sul_buf_init(b);
}

char *sul_buf_detach(struct sul_buf *b)
{
	char *s = b->alloc ? b->buf : sul_xstrdup("");
	sul_buf_init(b);
	return s;
}

void sul_buf_reset(struct sul_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

void sul_buf_grow(struct sul_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->alloc)
		return;
	if (!b->alloc)
		b->buf = NULL;
	b->alloc = need < 64 ? 64 : need;
	if (b->alloc < need * 3 / 2)
		b->alloc = need * 3 / 2;
	b->buf = sul_xrealloc(b->buf, b->alloc);
	if (!b->len)
		b->buf[0] = '\0';
}

void sul_buf_add(struct sul_buf *b, const void *data, size_t len)
{
	sul_buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void sul_buf_adds(struct sul_buf *b, const char *s)
{
	sul_buf_add(b, s, strlen(s));
}

void sul_buf_addc(struct sul_buf *b, char c)
{
	sul_buf_add(b, &c, 1);
}

void sul_buf_addf(struct sul_buf *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sul_buf_grow(b, (size_t)len);
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)len;
}

void sul_buf_add_json_str(struct sul_buf *b, const char *s)
{
	sul_buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': sul_buf_adds(b, "\\\""); break;
		case '\\': sul_buf_adds(b, "\\\\"); break;
		case '\n': sul_buf_adds(b, "\\n"); break;
		case '\t': sul_buf_adds(b, "\\t"); break;
		case '\r': sul_buf_adds(b, "\\r"); break;
		default:
			if (c < 0x20)
				sul_buf_addf(b, "\\u%04x", c);
			else
				sul_buf_addc(b, (char)c);
		}
	}
	sul_buf_addc(b, '"');
}

void sul_buf_add_shell_quoted(struct sul_buf *b, const char *s)
{
	const char *p;

	if (*s && !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_-+./:,=@%")]) {
		sul_buf_adds(b, s);
		return;
	}
	sul_buf_addc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			sul_buf_adds(b, "'\\''");
		else
			sul_buf_addc(b, *p);
	}
	sul_buf_addc(b, '\'');
}
