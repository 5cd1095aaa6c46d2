/*
 * strbuf.h - a growable, always NUL-terminated byte buffer (after git's strbuf).
 *
 * Used for everything the engine assembles: messages, JSON, SQL arguments,
 * command lines.  Allocation failure aborts (sul_xmalloc): the engine cannot
 * do anything useful without memory, and every caller checking it would hide
 * the real error paths.
 */
#ifndef SUL_STRBUF_H
#define SUL_STRBUF_H

#include <stddef.h>

struct sul_buf {
	char *buf;   /* never NULL after sul_buf_init: "" when empty */
	size_t len;
	size_t alloc;
};

extern char sul_buf_empty[];
#define SUL_BUF_INIT { sul_buf_empty, 0, 0 }

void sul_buf_init(struct sul_buf *b);
void sul_buf_release(struct sul_buf *b);
/* Returns the string and leaves b empty; the caller frees the result. */
char *sul_buf_detach(struct sul_buf *b);
void sul_buf_reset(struct sul_buf *b);
void sul_buf_grow(struct sul_buf *b, size_t extra);
void sul_buf_add(struct sul_buf *b, const void *data, size_t len);
void sul_buf_adds(struct sul_buf *b, const char *s);
void sul_buf_addc(struct sul_buf *b, char c);
void sul_buf_addf(struct sul_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void sul_buf_add_json_str(struct sul_buf *b, const char *s);
/* Appends s quoted for /bin/sh (unchanged when it needs no quoting). */
void sul_buf_add_shell_quoted(struct sul_buf *b, const char *s);

/* Allocation helpers that abort with a message on out-of-memory. */
void *sul_xmalloc(size_t n);
void *sul_xcalloc(size_t n, size_t size);
void *sul_xrealloc(void *p, size_t n);
char *sul_xstrdup(const char *s);
char *sul_xstrndup(const char *s, size_t n);
char *sul_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *arr (of *alloc elements of size elem) to hold at least n. */
#define SUL_ALLOC_GROW(arr, n, alloc)                                          \
	do {                                                                   \
		if ((n) > (alloc)) {                                           \
			(alloc) = (alloc) * 2 > (n) ? (alloc) * 2 : (n) + 8;   \
			(arr) = sul_xrealloc((arr), (alloc) * sizeof(*(arr))); \
		}                                                              \
	} while (0)

#endif
