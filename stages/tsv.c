/* tsv.c - reading tab-separated tables (see tsv.h). */
#include "tsv.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"

#include <sys/stat.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sul_tsv_read(const char *path, struct sul_tsv *t, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t alloc = 0, line = 0, ncells = 0;
	char *p, *next;

	memset(t, 0, sizeof(*t));
	if (sul_read_file(path, &b, err))
		return -1;
	t->text = sul_buf_detach(&b);
	for (p = t->text; *p; p = next) {
		size_t n = 0;
		char *f = p;

		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		else
			next = p + strlen(p);
		line++;
		{
			/* Windows line ends: the \r before the \n (or the end). */
			size_t len = strlen(p);
			if (len && p[len - 1] == '\r')
				p[len - 1] = '\0';
		}
		if (p[strspn(p, " \r")] == '\0' && line > 1)
			continue;  /* blank line */
		for (;;) {
			char *tab = strchr(f, '\t');
			SUL_ALLOC_GROW(t->cells, ncells + 1, alloc);
			t->cells[ncells++] = f;
			n++;
			if (!tab)
				break;
			*tab = '\0';
			f = tab + 1;
		}
		if (!t->nrows) {
			t->ncols = n;
		} else if (n != t->ncols) {
			sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: expected %zu tab-separated fields like the header, got %zu",
				    path, line, t->ncols, n);
			sul_tsv_release(t);
			return -1;
		}
		t->nrows++;
	}
	if (!t->nrows) {
		sul_tsv_release(t);
		return sul_err_set(err, SUL_ERR_INPUT, "%s: empty (expected a header line)", path);
	}
	return 0;
}

long sul_tsv_col(const struct sul_tsv *t, const char *name)
{
	size_t c;

	for (c = 0; c < t->ncols; c++)
		if (!strcmp(t->cells[c], name))
			return (long)c;
	return -1;
}

void sul_tsv_release(struct sul_tsv *t)
{
	free(t->text);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

size_t sul_split_list(char *buf, char **items, size_t max, int *malformed)
{
	size_t n = 0;
	char *p = buf;
	int bad = 0;

	while (p) {
		char *comma = strchr(p, ',');
		char *end;
		if (comma)
			*comma = '\0';
		while (*p == ' ')
			p++;
		end = p + strlen(p);
		while (end > p && end[-1] == ' ')
			*--end = '\0';
		if (!*p || n == max)
			bad = 1;
		else
			items[n++] = p;
		p = comma ? comma + 1 : NULL;
	}
	if (malformed)
		*malformed = bad;
	return n;
}

int sul_ctx_list(const struct sul_stage_ctx *ctx, const char *name, size_t max, char **buf, char **items,
		 size_t *n, struct sul_err *err)
{
	const char *text = sul_ctx_str(ctx, name);
	int malformed = 0;

	*buf = sul_xstrdup(text);
	*n = 0;
	if (!text[strspn(text, " ")])
		return 0;
	*n = sul_split_list(*buf, items, max, &malformed);
	if (malformed)
		return sul_err_set(err, SUL_ERR_INPUT, "parameter '%s': expected at most %zu comma-separated names, "
						       "none empty, got '%s'",
				   name, max, text);
	return 0;
}

int sul_check_list(const struct sul_stage_ctx *ctx, const char *name, size_t max, const char **about,
		   struct sul_err *err)
{
	char *buf, **items = sul_xcalloc(max ? max : 1, sizeof(*items));
	size_t n;
	int r = sul_ctx_list(ctx, name, max, &buf, items, &n, err);

	free(buf);
	free(items);
	if (r)
		*about = name;
	return r;
}

int sul_tsv_carry(const struct sul_tsv *t, const char *const *skip, size_t nskip, const char *in_dir,
		  const char *out_dir, struct sul_err *err)
{
	size_t row, c, k;

	for (c = 0; c < t->ncols; c++) {
		for (k = 0; k < nskip && strcmp(skip[k], sul_tsv_at(t, 0, c)); k++)
			;
		if (k < nskip)
			continue;
		for (row = 1; row < t->nrows; row++) {
			const char *cell = sul_tsv_at(t, row, c);
			char *src, *dst;
			struct stat st;
			int r = 0;

			if (!*cell || cell[0] == '/' || strstr(cell, ".."))
				continue;
			src = sul_xasprintf("%s/%s", in_dir, cell);
			dst = sul_xasprintf("%s/%s", out_dir, cell);
			if (!stat(src, &st) && S_ISREG(st.st_mode) && !sul_path_exists(dst))
				r = sul_copy_file(src, dst, err);
			free(src);
			free(dst);
			if (r)
				return -1;
		}
	}
	return 0;
}

void sul_tsv_num(struct sul_buf *b, double v)
{
	if (isnan(v))
		sul_buf_adds(b, "\t");
	else
		sul_buf_addf(b, "\t%.6g", v);
}

int sul_ctx_table(const struct sul_stage_ctx *ctx, const char *name, const struct sul_buf *b, struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/tables", ctx->out), *path = sul_xasprintf("%s/%s.tsv", dir, name);
	int r = sul_mkdirs(dir, err) || sul_write_file_atomic(path, b->buf, b->len, err);

	free(dir);
	free(path);
	return r ? -1 : 0;
}
