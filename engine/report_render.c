/*
 * report_render.c - one section of the report: its heading and text, its
 * query run (query.c, with :run bound) and checked against what its kind
 * reads, then the kind's renderer; the table kind itself, and the pieces
 * every renderer shares (report_private.h).
 *
 * A section's rows are read whole before any of its markup is written, so
 * each renderer sees whole columns, and a failing query fails before any of
 * its section is written.  Nothing here interprets a column beyond what its
 * position and the kind say.
 */
#include "report_private.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns each kind reads, for messages. */
static const char *const kind_columns[NKINDS] = {
	"one or more columns",
	"the columns [panel,] category, series, value",
	"the columns [panel,] series, x, y",
	"the columns [panel,] row, col, value",
	"the columns [panel,] row, col, image",
	"the columns label, path [, note...]",
	"the columns node, note, input (NULL: none)",
	"no query",
};

int sul_report_fail(const struct sul_report *rep, const struct section *s, struct sul_err *err, const char *fmt, ...)
{
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: section '%s': %s", rep->name, s->line, s->id, msg);
}

const char *sul_report_label(const struct sul_query_rows *r, size_t row, int col)
{
	const char *t = sul_query_cell(r, row, col)->text;
	return t ? t : "";
}

int sul_report_cell_number(const struct sul_report *rep, const struct section *s, const struct sul_query_rows *r,
			   size_t row, int col, double *v, struct sul_err *err)
{
	const struct sul_query_cell *c = sul_query_cell(r, row, col);
	char *end;

	if (c->type == SQLITE_NULL) {
		*v = NAN;
		return 0;
	}
	if (c->type == SQLITE_INTEGER || c->type == SQLITE_FLOAT) {
		*v = c->num;
		return 0;
	}
	*v = strtod(c->text, &end);
	if (!*c->text || *end)
		return sul_report_fail(rep, s, err, "row %zu: column '%s' holds '%s', not a number", row + 1,
				       r->names[col], c->text);
	return 0;
}

size_t sul_report_names_index(struct sul_report_names *ns, const char *s)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], s))
			return i;
	SUL_ALLOC_GROW(ns->v, ns->n + 1, ns->alloc);
	ns->v[ns->n] = s;
	return ns->n++;
}

void sul_report_names_release(struct sul_report_names *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

void sul_report_split_panels(const struct sul_query_rows *r, int full, struct sul_report_names *panels,
			     size_t *panel_of)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		panel_of[i] = sul_report_names_index(panels, r->ncols == full ? sul_report_label(r, i, 0) : "");
}

void sul_report_panel_open(struct sul_buf *h, int has_panel, const char *name)
{
	sul_buf_adds(h, "<figure class=\"panel\">");
	if (has_panel) {
		sul_buf_adds(h, "<figcaption>");
		esc(h, name);
		sul_buf_adds(h, "</figcaption>");
	}
}

void sul_report_add_nodata(struct sul_buf *h, const struct section *s)
{
	sul_buf_adds(h, "<p class=\"nodata\">");
	esc(h, s->empty ? s->empty : "No data.");
	sul_buf_adds(h, "</p>\n");
}

/* Paragraphs of text, split at blank lines. */
static void add_paragraphs(struct sul_buf *h, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *para = sul_xstrndup(p, len);
		if (para[strspn(para, " \t\n")]) {
			sul_buf_adds(h, "<p>");
			esc(h, para);
			sul_buf_adds(h, "</p>\n");
		}
		free(para);
		p += len;
		while (*p == '\n')
			p++;
	}
}

/* Runs the section's query, one read-only statement, with :run and :other
 * bound (the only parameters a spec may use), and reads every row into out. */
static int run_query(const struct sul_report *rep, const struct section *s, const struct sul_report_ctx *ctx,
		     struct sul_query_rows *out, struct sul_err *err)
{
	struct sul_query_batch b = SUL_QUERY_BATCH_INIT;
	sqlite3_stmt *st;
	int i, ret = -1;

	memset(out, 0, sizeof(*out));
	if (sul_query_prepare(ctx->db, s->query, &b, err)) {
		sul_err_prefix(err, "%s:%d: section '%s'", rep->name, s->line, s->id);
		goto out;
	}
	if (b.n != 1) {
		sul_report_fail(rep, s, err, b.n ? "the query holds more than one statement" : "the query is empty");
		goto out;
	}
	st = b.st[0];
	for (i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *p = sqlite3_bind_parameter_name(st, i);
		long long id;
		if (!p || (strcmp(p, ":run") && strcmp(p, ":other"))) {
			sul_report_fail(rep, s, err, "unknown query parameter '%s' (only :run and :other are bound)",
					p ? p : "?");
			goto out;
		}
		id = !strcmp(p, ":run") ? ctx->run_id : ctx->other_run_id;
		if (id > 0)
			sqlite3_bind_int64(st, i, id);
		else
			sqlite3_bind_null(st, i);
	}
	if (sul_query_read(st, out, err)) {
		sul_err_prefix(err, "%s:%d: section '%s'", rep->name, s->line, s->id);
		goto out;
	}
	ret = 0;
out:
	sul_query_batch_release(&b);
	return ret;
}

static int check_columns(const struct sul_report *rep, const struct section *s, const struct sul_query_rows *r,
			 int lo, int hi, struct sul_err *err)
{
	if (r->ncols >= lo && r->ncols <= hi)
		return 0;
	return sul_report_fail(rep, s, err, "kind '%s' reads %s; the query returns %d column%s",
			       sul_report_kind_names[s->kind], kind_columns[s->kind], r->ncols, r->ncols == 1 ? "" : "s");
}

/* Any columns: numbers (and NULL-only columns) right-aligned, NULL an en dash. */
static int render_table(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	int *numeric = sul_xcalloc((size_t)r->ncols + 1, sizeof(*numeric));
	size_t i;
	int c;

	(void)rep;
	(void)s;
	(void)ctx;
	(void)err;
	for (c = 0; c < r->ncols; c++)
		numeric[c] = sul_query_column_is_numeric(r, c);
	sul_buf_adds(h, "<div class=\"scroll\"><table class=\"data\">\n<thead><tr>");
	for (c = 0; c < r->ncols; c++) {
		sul_buf_adds(h, numeric[c] ? "<th class=\"num\">" : "<th>");
		esc(h, r->names[c]);
		sul_buf_adds(h, "</th>");
	}
	sul_buf_adds(h, "</tr></thead>\n<tbody>\n");
	for (i = 0; i < r->n; i++) {
		sul_buf_adds(h, "<tr>");
		for (c = 0; c < r->ncols; c++) {
			const struct sul_query_cell *cl = sul_query_cell(r, i, c);
			if (cl->type == SQLITE_NULL)
				sul_buf_adds(h, "<td class=\"null\">\xe2\x80\x93</td>");   /* en dash */
			else {
				sul_buf_adds(h, numeric[c] ? "<td class=\"num\">" : "<td>");
				esc(h, cl->text);
				sul_buf_adds(h, "</td>");
			}
		}
		sul_buf_adds(h, "</tr>\n");
	}
	sul_buf_adds(h, "</tbody></table></div>\n");
	free(numeric);
	return 0;
}

/* Each kind's renderer and the number of columns it reads. */
static const struct {
	report_render_fn *render;
	int min_cols, max_cols;
} kinds[NKINDS] = {
	[K_TABLE] = { render_table, 1, INT_MAX },
	[K_BARS] = { sul_report_render_bars, 3, 4 },
	[K_LINES] = { sul_report_render_lines, 3, 4 },
	[K_MATRIX] = { sul_report_render_matrix, 3, 4 },
	[K_MONTAGE] = { sul_report_render_montage, 3, 4 },
	[K_LINKS] = { sul_report_render_links, 2, INT_MAX },
	[K_GRAPH] = { sul_report_render_graph, 3, 3 },
	[K_TEXT] = { NULL, 0, 0 },
};

int sul_report_render_section(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			      struct sul_buf *h, struct sul_err *err)
{
	struct sul_query_rows r;
	int ret = -1;

	sul_buf_addf(h, "<section id=\"%s\" class=\"kind-%s\">\n<h2>", s->id, sul_report_kind_names[s->kind]);
	esc(h, s->title);
	sul_buf_adds(h, "</h2>\n");
	if (s->text)
		add_paragraphs(h, s->text);
	if (s->kind == K_TEXT) {
		sul_buf_adds(h, "</section>\n");
		return 0;
	}
	if (run_query(rep, s, ctx, &r, err))
		return -1;
	if (check_columns(rep, s, &r, kinds[s->kind].min_cols, kinds[s->kind].max_cols, err))
		goto out;
	if (!r.n)
		sul_report_add_nodata(h, s);
	else if (kinds[s->kind].render(rep, s, ctx, &r, h, err))
		goto out;
	sul_buf_adds(h, "</section>\n");
	ret = 0;
out:
	sul_query_rows_release(&r);
	return ret;
}
