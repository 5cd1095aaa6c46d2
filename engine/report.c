/*
 * report.c - the HTML report: spec parsing, one renderer per section kind,
 * the page around them, and writing OUT/ (see report.h for the spec).
 *
 * Every query's rows are read into memory first (struct rows), so each
 * renderer sees whole columns, and a failing query fails before any of its
 * section is written.  Charts are drawn by svg.c.  This file does not
 * interpret any column beyond what its position and the kind say, and it
 * never writes to the database (statements that would are refused even
 * though the caller opens it read-only).
 */
#include "report.h"
#include "workflow.h"
#include "clock.h"
#include "fsutil.h"
#include "suggest.h"
#include "svg.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What marks OUT/index.html as ours (sul_report_write overwrites only that). */
#define GENERATOR_META "<meta name=\"generator\" content=\"sulcus report\">"

enum kind { K_TABLE, K_BARS, K_LINES, K_MATRIX, K_MONTAGE, K_LINKS, K_TEXT, NKINDS };

static const char *const kind_names[NKINDS] = { "table", "bars", "lines", "matrix", "montage", "links", "text" };

/* The columns each kind reads, for messages. */
static const char *const kind_columns[NKINDS] = {
	"one or more columns",
	"the columns [panel,] category, series, value",
	"the columns [panel,] series, x, y",
	"the columns [panel,] row, col, value",
	"the columns [panel,] row, col, image",
	"the columns label, path [, note...]",
	"no query",
};

#define KB(k) (1u << (k))
#define K_ALL (KB(NKINDS) - 1)

/* The keys a section may have, and the kinds they apply to. */
static const struct key {
	const char *name;
	unsigned kinds;
} keys[] = {
	{ "id", K_ALL },
	{ "title", K_ALL },
	{ "kind", K_ALL },
	{ "text", K_ALL },
	{ "query", K_ALL & ~KB(K_TEXT) },
	{ "empty", K_ALL & ~KB(K_TEXT) },
	{ "x_label", KB(K_BARS) | KB(K_LINES) },
	{ "y_label", KB(K_BARS) | KB(K_LINES) },
	{ "row_label", KB(K_MATRIX) },
	{ "col_label", KB(K_MATRIX) },
	{ "per_panel", KB(K_MONTAGE) },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

#define DEFAULT_PER_PANEL 12

struct section {
	char *id, *title, *text, *query, *empty;
	char *x_label, *y_label, *row_label, *col_label;
	long long per_panel;
	enum kind kind;
	int line;
};

struct sul_report {
	char *name;
	char *title;
	struct section *sec;
	size_t n;
};

/* --- parsing ------------------------------------------------------------- */

static int fail_at(const char *name, const config_setting_t *s, struct sul_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_at(const char *name, const config_setting_t *s, struct sul_err *err, const char *fmt, ...)
{
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: %s", name, (int)config_setting_source_line(s), msg);
}

static void section_release(struct section *s)
{
	free(s->id);
	free(s->title);
	free(s->text);
	free(s->query);
	free(s->empty);
	free(s->x_label);
	free(s->y_label);
	free(s->row_label);
	free(s->col_label);
}

void sul_report_free(struct sul_report *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->n; i++)
		section_release(&rep->sec[i]);
	free(rep->sec);
	free(rep->name);
	free(rep->title);
	free(rep);
}

size_t sul_report_nsections(const struct sul_report *rep)
{
	return rep->n;
}

static int valid_id(const char *id)
{
	const char *p;

	if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
		return 0;
	for (p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'
		      || *p == '-'))
			return 0;
	return 1;
}

/* The string member `key` of g, or NULL when absent; -1 when not a string. */
static int get_string(const char *name, const config_setting_t *g, const char *key, const char *what,
		      const char **out, struct sul_err *err)
{
	const config_setting_t *m = config_setting_get_member(g, key);

	*out = NULL;
	if (!m)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return fail_at(name, m, err, "%s'%s': expected a string, got %s", what, key,
			       sul_config_type_word(config_setting_type(m)));
	*out = config_setting_get_string(m);
	return 0;
}

static int parse_section(struct sul_report *rep, const config_setting_t *g, size_t index, struct sul_err *err)
{
	const char *name = rep->name, *id, *kind, *v;
	char what[256];
	struct section *s = &rep->sec[rep->n];
	int i, n, k;
	size_t j;

	memset(s, 0, sizeof(*s));
	s->line = (int)config_setting_source_line(g);
	if (!config_setting_is_group(g))
		return fail_at(name, g, err, "section %zu: expected a group { id = ...; kind = ...; }, got %s", index + 1,
			       sul_config_type_word(config_setting_type(g)));
	snprintf(what, sizeof(what), "section %zu: ", index + 1);
	if (get_string(name, g, "id", what, &id, err))
		return -1;
	if (!id)
		return fail_at(name, g, err, "section %zu: missing 'id'", index + 1);
	if (!valid_id(id))
		return fail_at(name, g, err, "section '%s': 'id' must be a letter then letters, digits, '_' or '-'", id);
	for (j = 0; j < rep->n; j++)
		if (!strcmp(rep->sec[j].id, id))
			return fail_at(name, g, err, "section '%s': id already used by the section at line %d", id,
				       rep->sec[j].line);
	snprintf(what, sizeof(what), "section '%s': ", id);
	if (get_string(name, g, "kind", what, &kind, err))
		return -1;
	if (!kind)
		return fail_at(name, g, err, "section '%s': missing 'kind' (table, bars, lines, matrix, montage, links or text)",
			       id);
	for (k = 0; k < NKINDS && strcmp(kind_names[k], kind); k++)
		;
	if (k == NKINDS) {
		const char *sug = sul_suggest(kind, kind_names, NKINDS);
		return fail_at(name, config_setting_get_member(g, "kind"), err,
			       "section '%s': unknown kind '%s'%s%s%s (table, bars, lines, matrix, montage, links or text)",
			       id, kind, sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
	}
	s->kind = (enum kind)k;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);
		char **slot = NULL;
		for (j = 0; j < NKEYS && strcmp(keys[j].name, key); j++)
			;
		if (j == NKEYS) {
			const char *cands[NKEYS], *sug;
			size_t c;
			for (c = 0; c < NKEYS; c++)
				cands[c] = keys[c].name;
			sug = sul_suggest(key, cands, NKEYS);
			return fail_at(name, m, err, "section '%s': unknown key '%s'%s%s%s", id, key,
				       sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
		}
		if (!(keys[j].kinds & KB(s->kind)))
			return fail_at(name, m, err, "section '%s': key '%s' does not apply to kind '%s'", id, key, kind);
		if (!strcmp(key, "per_panel")) {
			long long pp;
			if (config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64)
				return fail_at(name, m, err, "section '%s': 'per_panel': expected an integer, got %s", id,
					       sul_config_type_word(config_setting_type(m)));
			pp = config_setting_get_int64(m);
			if (pp < 1)
				return fail_at(name, m, err, "section '%s': 'per_panel': expected at least 1, got %lld", id,
					       pp);
			s->per_panel = pp;
			continue;
		}
		if (config_setting_type(m) != CONFIG_TYPE_STRING)
			return fail_at(name, m, err, "section '%s': '%s': expected a string, got %s", id, key,
				       sul_config_type_word(config_setting_type(m)));
		v = config_setting_get_string(m);
		if (!strcmp(key, "title")) slot = &s->title;
		else if (!strcmp(key, "text")) slot = &s->text;
		else if (!strcmp(key, "query")) slot = &s->query;
		else if (!strcmp(key, "empty")) slot = &s->empty;
		else if (!strcmp(key, "x_label")) slot = &s->x_label;
		else if (!strcmp(key, "y_label")) slot = &s->y_label;
		else if (!strcmp(key, "row_label")) slot = &s->row_label;
		else if (!strcmp(key, "col_label")) slot = &s->col_label;
		if (slot)
			*slot = sul_xstrdup(v);
	}
	if (s->kind != K_TEXT && !s->query)
		return fail_at(name, g, err, "section '%s': kind '%s' needs a 'query'", id, kind);
	if (s->kind == K_TEXT && !s->text)
		return fail_at(name, g, err, "section '%s': kind 'text' needs a 'text'", id);
	s->id = sul_xstrdup(id);
	if (!s->title)
		s->title = sul_xstrdup(id);
	if (!s->per_panel)
		s->per_panel = DEFAULT_PER_PANEL;
	rep->n++;
	return 0;
}

int sul_report_parse(const char *text, const char *name, struct sul_report **out, struct sul_err *err)
{
	struct sul_report *rep = sul_xcalloc(1, sizeof(*rep));
	config_t cfg;
	config_setting_t *root, *secs = NULL;
	int i, n, ret = -1;

	config_init(&cfg);
	rep->name = sul_xstrdup(name);
	if (!config_read_string(&cfg, text)) {
		sul_err_set(err, SUL_ERR_INPUT, "%s:%d: %s", name, config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	root = config_root_setting(&cfg);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(m);
		if (!strcmp(key, "title")) {
			if (config_setting_type(m) != CONFIG_TYPE_STRING) {
				fail_at(name, m, err, "'title': expected a string, got %s", sul_config_type_word(config_setting_type(m)));
				goto out;
			}
			rep->title = sul_xstrdup(config_setting_get_string(m));
		} else if (!strcmp(key, "sections")) {
			if (config_setting_type(m) != CONFIG_TYPE_LIST) {
				fail_at(name, m, err, "'sections': expected a list ( {...}, {...} ), got %s",
					sul_config_type_word(config_setting_type(m)));
				goto out;
			}
			secs = m;
		} else {
			static const char *const top[] = { "title", "sections" };
			const char *sug = sul_suggest(key, top, 2);
			fail_at(name, m, err, "unknown key '%s'%s%s%s (a report spec has 'title' and 'sections')", key,
				sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
			goto out;
		}
	}
	if (!secs) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: no 'sections' list", name);
		goto out;
	}
	n = config_setting_length(secs);
	rep->sec = sul_xcalloc((size_t)n + 1, sizeof(*rep->sec));
	for (i = 0; i < n; i++)
		if (parse_section(rep, config_setting_get_elem(secs, (unsigned)i), (size_t)i, err)) {
			section_release(&rep->sec[rep->n]);
			goto out;
		}
	if (!rep->title)
		rep->title = sul_xstrdup("sulcus report");
	*out = rep;
	rep = NULL;
	ret = 0;
out:
	config_destroy(&cfg);
	sul_report_free(rep);
	return ret;
}

/* --- query results ------------------------------------------------------- */

struct cell {
	int type;      /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB or _NULL */
	char *text;    /* NULL for NULL; numbers as shown */
	double num;    /* INTEGER and FLOAT */
};

struct rows {
	int ncols;
	char **names;
	struct cell *cells;   /* row-major */
	size_t n, alloc;
};

static void rows_release(struct rows *r)
{
	size_t i;
	int c;

	for (i = 0; i < r->n * (size_t)r->ncols; i++)
		free(r->cells[i].text);
	free(r->cells);
	for (c = 0; c < r->ncols; c++)
		free(r->names[c]);
	free(r->names);
	memset(r, 0, sizeof(*r));
}

static const struct cell *cell_at(const struct rows *r, size_t row, int col)
{
	return &r->cells[row * (size_t)r->ncols + (size_t)col];
}

/* The cell as a label: "" for NULL. */
static const char *label(const struct rows *r, size_t row, int col)
{
	const char *t = cell_at(r, row, col)->text;
	return t ? t : "";
}

static int fail_sec(const struct sul_report *rep, const struct section *s, struct sul_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_sec(const struct sul_report *rep, const struct section *s, struct sul_err *err, const char *fmt, ...)
{
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: section '%s': %s", rep->name, s->line, s->id, msg);
}

/* Only semicolons, white space and comments left in sql? */
static int only_comments(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	const char *tail;

	for (;;) {
		while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == ';')
			sql++;
		if (!*sql)
			return 1;
		if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK)
			return 0;
		if (st) {
			sqlite3_finalize(st);
			return 0;
		}
		if (tail == sql)
			return 1;
		sql = tail;
	}
}

/* Runs the section's query with :run bound and reads every row. */
static int run_query(const struct sul_report *rep, const struct section *s, const struct sul_report_ctx *ctx,
		     struct rows *out, struct sul_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *tail;
	int c, rc, i, ret = -1;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(ctx->db, s->query, -1, &st, &tail) != SQLITE_OK)
		return fail_sec(rep, s, err, "%s", sqlite3_errmsg(ctx->db));
	if (!st)
		return fail_sec(rep, s, err, "the query is empty");
	if (!only_comments(ctx->db, tail)) {
		fail_sec(rep, s, err, "the query holds more than one statement");
		goto out;
	}
	if (!sqlite3_stmt_readonly(st)) {
		fail_sec(rep, s, err, "only statements that read are allowed, and this query writes");
		goto out;
	}
	for (i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *p = sqlite3_bind_parameter_name(st, i);
		if (!p || strcmp(p, ":run")) {
			fail_sec(rep, s, err, "unknown query parameter '%s' (only :run is bound)", p ? p : "?");
			goto out;
		}
		if (ctx->run_id > 0)
			sqlite3_bind_int64(st, i, ctx->run_id);
		else
			sqlite3_bind_null(st, i);
	}
	out->ncols = sqlite3_column_count(st);
	out->names = sul_xcalloc((size_t)out->ncols + 1, sizeof(*out->names));
	for (c = 0; c < out->ncols; c++)
		out->names[c] = sul_xstrdup(sqlite3_column_name(st, c));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		SUL_ALLOC_GROW(out->cells, (out->n + 1) * (size_t)out->ncols, out->alloc);
		for (c = 0; c < out->ncols; c++) {
			struct cell *cl = &out->cells[out->n * (size_t)out->ncols + (size_t)c];
			struct sul_buf b = SUL_BUF_INIT;
			cl->type = sqlite3_column_type(st, c);
			cl->num = NAN;
			cl->text = NULL;
			switch (cl->type) {
			case SQLITE_NULL: break;
			case SQLITE_INTEGER:
				cl->num = (double)sqlite3_column_int64(st, c);
				sul_buf_addf(&b, "%lld", (long long)sqlite3_column_int64(st, c));
				cl->text = sul_buf_detach(&b);
				break;
			case SQLITE_FLOAT:
				cl->num = sqlite3_column_double(st, c);
				sul_svg_add_number(&b, cl->num);
				cl->text = sul_buf_detach(&b);
				break;
			default: {
				const unsigned char *t = sqlite3_column_text(st, c);
				cl->text = sul_xstrdup(t ? (const char *)t : "");
			}
			}
		}
		out->n++;
	}
	if (rc != SQLITE_DONE) {
		fail_sec(rep, s, err, "%s", sqlite3_errmsg(ctx->db));
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	if (ret)
		rows_release(out);
	return ret;
}

/* The cell as a number: NAN for NULL; text must read as a number whole. */
static int cell_number(const struct sul_report *rep, const struct section *s, const struct rows *r, size_t row,
		       int col, double *v, struct sul_err *err)
{
	const struct cell *c = cell_at(r, row, col);
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
		return fail_sec(rep, s, err, "row %zu: column '%s' holds '%s', not a number", row + 1, r->names[col],
				c->text);
	return 0;
}

/* Distinct strings in order of first appearance (borrowed, not copied). */
struct names {
	const char **v;
	size_t n, alloc;
};

static size_t names_index(struct names *ns, const char *s)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], s))
			return i;
	SUL_ALLOC_GROW(ns->v, ns->n + 1, ns->alloc);
	ns->v[ns->n] = s;
	return ns->n++;
}

static void names_release(struct names *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

/* --- HTML pieces ----------------------------------------------------------- */

#define esc sul_svg_escape

static void add_nodata(struct sul_buf *h, const struct section *s)
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

static void panel_open(struct sul_buf *h, int has_panel, const char *name)
{
	sul_buf_adds(h, "<figure class=\"panel\">");
	if (has_panel) {
		sul_buf_adds(h, "<figcaption>");
		esc(h, name);
		sul_buf_adds(h, "</figcaption>");
	}
}

/* Splits r's rows by the panel column (column 0 when r has `full` columns,
 * else one unnamed panel); panel_of[i] is row i's panel. */
static void split_panels(const struct rows *r, int full, struct names *panels, size_t *panel_of)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		panel_of[i] = names_index(panels, r->ncols == full ? label(r, i, 0) : "");
}

static int check_columns(const struct sul_report *rep, const struct section *s, const struct rows *r, int lo,
			 int hi, struct sul_err *err)
{
	if (r->ncols >= lo && r->ncols <= hi)
		return 0;
	return fail_sec(rep, s, err, "kind '%s' reads %s; the query returns %d column%s", kind_names[s->kind],
			kind_columns[s->kind], r->ncols, r->ncols == 1 ? "" : "s");
}

/* --- kinds ----------------------------------------------------------------- */

static int render_table(const struct sul_report *rep, const struct section *s, const struct rows *r,
			struct sul_buf *h, struct sul_err *err)
{
	int *numeric = sul_xcalloc((size_t)r->ncols + 1, sizeof(*numeric));
	size_t i;
	int c;

	(void)rep;
	(void)s;
	(void)err;
	for (c = 0; c < r->ncols; c++) {
		numeric[c] = 1;
		for (i = 0; i < r->n; i++) {
			int t = cell_at(r, i, c)->type;
			if (t != SQLITE_INTEGER && t != SQLITE_FLOAT && t != SQLITE_NULL)
				numeric[c] = 0;
		}
	}
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
			const struct cell *cl = cell_at(r, i, c);
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

static int render_bars(const struct sul_report *rep, const struct section *s, const struct rows *r,
		       struct sul_buf *h, struct sul_err *err)
{
	struct names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), p, i;
	double *vals = sul_xcalloc(r->n + 1, sizeof(*vals));
	int base = r->ncols - 3, ret = -1, shown = 0;

	for (i = 0; i < r->n; i++)
		if (cell_number(rep, s, r, i, base + 2, &vals[i], err))
			goto out;
	split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct names cats = { 0 }, series = { 0 };
		struct sul_svg_bars chart;
		double *grid;
		int any = 0;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p) {
				names_index(&cats, label(r, i, base));
				names_index(&series, label(r, i, base + 1));
			}
		grid = sul_xcalloc(cats.n * series.n + 1, sizeof(*grid));
		for (i = 0; i < cats.n * series.n; i++)
			grid[i] = NAN;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p && isfinite(vals[i])) {
				grid[names_index(&cats, label(r, i, base)) * series.n
				     + names_index(&series, label(r, i, base + 1))] = vals[i];
				any = 1;
			}
		if (any) {
			chart.x_label = s->x_label ? s->x_label : r->names[base];
			chart.y_label = s->y_label ? s->y_label : r->names[base + 2];
			chart.cats = cats.v;
			chart.ncats = cats.n;
			chart.series = series.v;
			chart.nseries = series.n;
			chart.values = grid;
			panel_open(h, base, panels.v[p]);
			sul_svg_bars(h, &chart);
			sul_buf_adds(h, "</figure>\n");
			shown++;
		}
		free(grid);
		names_release(&cats);
		names_release(&series);
	}
	sul_buf_adds(h, "</div>\n");
	if (!shown)
		add_nodata(h, s);
	ret = 0;
out:
	names_release(&panels);
	free(panel_of);
	free(vals);
	return ret;
}

struct point {
	double x, y;
	size_t order;
};

static int cmp_point(const void *a, const void *b)
{
	const struct point *p = a, *q = b;

	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	return p->order < q->order ? -1 : p->order > q->order;
}

static int render_lines(const struct sul_report *rep, const struct section *s, const struct rows *r,
			struct sul_buf *h, struct sul_err *err)
{
	struct names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), p, i, k;
	double *xs = sul_xcalloc(r->n + 1, sizeof(*xs)), *ys = sul_xcalloc(r->n + 1, sizeof(*ys));
	int base = r->ncols - 3, ret = -1, shown = 0;

	for (i = 0; i < r->n; i++)
		if (cell_number(rep, s, r, i, base + 1, &xs[i], err) || cell_number(rep, s, r, i, base + 2, &ys[i], err))
			goto out;
	split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct names series = { 0 };
		struct sul_svg_line *lines;
		struct sul_svg_lines chart;
		struct point *pts = sul_xcalloc(r->n + 1, sizeof(*pts));
		double *px = sul_xcalloc(r->n + 1, sizeof(*px)), *py = sul_xcalloc(r->n + 1, sizeof(*py));
		size_t used = 0;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p && isfinite(xs[i]) && isfinite(ys[i]))
				names_index(&series, label(r, i, base));
		lines = sul_xcalloc(series.n + 1, sizeof(*lines));
		/* Each series' points, sorted by x, laid end to end in px/py. */
		for (k = 0; k < series.n; k++) {
			size_t np = 0, q;
			for (i = 0; i < r->n; i++)
				if (panel_of[i] == p && isfinite(xs[i]) && isfinite(ys[i])
				    && !strcmp(label(r, i, base), series.v[k])) {
					pts[np].x = xs[i];
					pts[np].y = ys[i];
					pts[np].order = i;
					np++;
				}
			qsort(pts, np, sizeof(*pts), cmp_point);
			lines[k].name = series.v[k];
			lines[k].x = px + used;
			lines[k].y = py + used;
			lines[k].n = np;
			for (q = 0; q < np; q++) {
				px[used + q] = pts[q].x;
				py[used + q] = pts[q].y;
			}
			used += np;
		}
		if (series.n) {
			chart.x_label = s->x_label ? s->x_label : r->names[base + 1];
			chart.y_label = s->y_label ? s->y_label : r->names[base + 2];
			chart.lines = lines;
			chart.nlines = series.n;
			panel_open(h, base, panels.v[p]);
			sul_svg_lines(h, &chart);
			sul_buf_adds(h, "</figure>\n");
			shown++;
		}
		free(lines);
		free(pts);
		free(px);
		free(py);
		names_release(&series);
	}
	sul_buf_adds(h, "</div>\n");
	if (!shown)
		add_nodata(h, s);
	ret = 0;
out:
	names_release(&panels);
	free(panel_of);
	free(xs);
	free(ys);
	return ret;
}

static int render_matrix(const struct sul_report *rep, const struct section *s, const struct rows *r,
			 struct sul_buf *h, struct sul_err *err)
{
	struct names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), p, i;
	double *vals = sul_xcalloc(r->n + 1, sizeof(*vals));
	int base = r->ncols - 3, ret = -1;

	for (i = 0; i < r->n; i++)
		if (cell_number(rep, s, r, i, base + 2, &vals[i], err))
			goto out;
	split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct names rs = { 0 }, cs = { 0 };
		struct sul_svg_matrix chart;
		double *grid;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p) {
				names_index(&rs, label(r, i, base));
				names_index(&cs, label(r, i, base + 1));
			}
		grid = sul_xcalloc(rs.n * cs.n + 1, sizeof(*grid));
		for (i = 0; i < rs.n * cs.n; i++)
			grid[i] = NAN;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p)
				grid[names_index(&rs, label(r, i, base)) * cs.n + names_index(&cs, label(r, i, base + 1))] =
					vals[i];
		chart.row_label = s->row_label ? s->row_label : r->names[base];
		chart.col_label = s->col_label ? s->col_label : r->names[base + 1];
		chart.rows = rs.v;
		chart.nrows = rs.n;
		chart.cols = cs.v;
		chart.ncols = cs.n;
		chart.values = grid;
		panel_open(h, base, panels.v[p]);
		sul_svg_matrix(h, &chart);
		sul_buf_adds(h, "</figure>\n");
		free(grid);
		names_release(&rs);
		names_release(&cs);
	}
	sul_buf_adds(h, "</div>\n");
	if (!panels.n)
		add_nodata(h, s);
	ret = 0;
out:
	names_release(&panels);
	free(panel_of);
	free(vals);
	return ret;
}

/* The file a path cell names (report.h): CACHE_KEY/PATH in the cache for a
 * column named `file`, else a path relative to the current folder.  Caller
 * frees. */
static int resolve_path(const struct sul_report *rep, const struct section *s, const struct sul_report_ctx *ctx,
			const char *col, const char *v, char **out, struct sul_err *err)
{
	const char *slash;

	*out = NULL;
	if (strcmp(col, "file")) {
		*out = sul_path_resolve(NULL, v);
		return 0;
	}
	slash = strchr(v, '/');
	if (!slash || slash == v || !slash[1])
		return fail_sec(rep, s, err, "column 'file': expected CACHE_KEY/PATH, got '%s'", v);
	if (!ctx->cache_dir)
		return fail_sec(rep, s, err, "column 'file': no workspace cache to find '%s' in", v);
	*out = sul_xasprintf("%s/%.*s/out/%s", ctx->cache_dir, (int)(slash - v), v, slash + 1);
	return 0;
}

static int is_file(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* A file name for the copy of src in img/: unique by n, readable by the
 * last characters of src's own name, and safe in a URL. */
static char *image_name(const char *section, size_t n, const char *src)
{
	const char *base = strrchr(src, '/');
	struct sul_buf b = SUL_BUF_INIT;
	size_t len, start;

	base = base ? base + 1 : src;
	len = strlen(base);
	start = len > 64 ? len - 64 : 0;
	sul_buf_addf(&b, "%s-%04zu-", section, n);
	for (base += start; *base; base++) {
		char c = *base;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
			 || c == '-';
		sul_buf_addc(&b, ok ? c : '_');
	}
	return sul_buf_detach(&b);
}

static int render_montage(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			  const struct rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), *pick = sul_xcalloc(r->n + 1, sizeof(*pick));
	size_t p, i, k;
	int base = r->ncols - 3, ret = -1;
	const char *col = r->names[base + 2];

	split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct names rowlabels = { 0 };
		size_t npick = 0, total = 0;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p && cell_at(r, i, base + 2)->text && total++ < (size_t)s->per_panel) {
				pick[npick++] = i;
				names_index(&rowlabels, label(r, i, base));
			}
		sul_buf_adds(h, "<div class=\"montage\">");
		if (base) {
			sul_buf_adds(h, "<h3>");
			esc(h, panels.v[p]);
			sul_buf_adds(h, "</h3>");
		}
		if (total > npick)
			sul_buf_addf(h, "<p class=\"note\">%zu of %zu images</p>", npick, total);
		for (k = 0; k < rowlabels.n; k++) {
			sul_buf_adds(h, "\n<div class=\"mrow\"><div class=\"mrow-label\">");
			esc(h, rowlabels.v[k]);
			sul_buf_adds(h, "</div><div class=\"mimgs\">");
			for (i = 0; i < npick; i++) {
				size_t row = pick[i];
				char *src = NULL, *name, *dst;
				if (strcmp(label(r, row, base), rowlabels.v[k]))
					continue;
				if (resolve_path(rep, s, ctx, col, label(r, row, base + 2), &src, err)) {
					names_release(&rowlabels);
					goto out;
				}
				sul_buf_adds(h, "<figure>");
				if (!is_file(src)) {
					sul_buf_adds(h, "<div class=\"noimg\" title=\"");
					esc(h, src);
					sul_buf_adds(h, "\">missing</div>");
				} else {
					name = image_name(s->id, ++ctx->nimages, src);
					dst = sul_xasprintf("%s/%s", ctx->img_dir, name);
					if (sul_copy_file(src, dst, err)) {
						sul_err_prefix(err, "section '%s'", s->id);
						free(dst);
						free(name);
						free(src);
						names_release(&rowlabels);
						goto out;
					}
					sul_buf_adds(h, "<img src=\"img/");
					esc(h, name);
					sul_buf_adds(h, "\" alt=\"");
					if (base) {
						esc(h, panels.v[p]);
						sul_buf_adds(h, ", ");
					}
					esc(h, rowlabels.v[k]);
					sul_buf_adds(h, ", ");
					esc(h, label(r, row, base + 1));
					sul_buf_adds(h, "\">");
					free(dst);
					free(name);
				}
				sul_buf_adds(h, "<figcaption>");
				esc(h, label(r, row, base + 1));
				sul_buf_adds(h, "</figcaption></figure>");
				free(src);
			}
			sul_buf_adds(h, "</div></div>");
		}
		sul_buf_adds(h, "\n</div>\n");
		names_release(&rowlabels);
	}
	sul_buf_adds(h, "</div>\n");
	if (!panels.n)
		add_nodata(h, s);
	ret = 0;
out:
	names_release(&panels);
	free(panel_of);
	free(pick);
	return ret;
}

/* The path of `to` relative to the folder `from`; both absolute and
 * canonical.  Caller frees. */
static char *relative_path(const char *from, const char *to)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t i = 0, common = 0;
	const char *p;

	while (from[i] && from[i] == to[i]) {
		i++;
		if (from[i - 1] == '/')
			common = i;
	}
	if (!from[i] && (to[i] == '/' || !to[i]))
		common = i;
	for (p = from + common; *p; ) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		sul_buf_adds(&b, "../");
		while (*p && *p != '/')
			p++;
	}
	p = to + common;
	while (*p == '/')
		p++;
	sul_buf_adds(&b, *p || b.len ? p : ".");
	return sul_buf_detach(&b);
}

/* Appends path percent-encoded for a URL (slashes kept). */
static void add_url_path(struct sul_buf *b, const char *path)
{
	for (; *path; path++) {
		unsigned char c = (unsigned char)*path;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/-._~", c))
			sul_buf_addc(b, (char)c);
		else
			sul_buf_addf(b, "%%%02X", c);
	}
}

static int render_links(const struct sul_report *rep, const struct section *s, const struct sul_report_ctx *ctx,
			const struct rows *r, struct sul_buf *h, struct sul_err *err)
{
	char *outreal = NULL;
	size_t i;
	int c, ret = -1;

	if (!r->n) {
		add_nodata(h, s);
		return 0;
	}
	outreal = realpath(ctx->out_dir, NULL);
	if (!outreal)
		return sul_err_sys(err, "section '%s': cannot resolve '%s'", s->id, ctx->out_dir);
	sul_buf_adds(h, "<ul class=\"links\">\n");
	for (i = 0; i < r->n; i++) {
		const char *v = cell_at(r, i, 1)->text, *sep = "";
		char *path = NULL, *real = NULL, *rel;
		sul_buf_adds(h, "<li>");
		if (v && strcmp(r->names[1], "file") && strstr(v, "://")) {
			sul_buf_adds(h, "<a href=\"");
			esc(h, v);
			sul_buf_adds(h, "\">");
			esc(h, label(r, i, 0));
			sul_buf_adds(h, "</a>");
		} else if (v) {
			if (resolve_path(rep, s, ctx, r->names[1], v, &path, err))
				goto out;
			real = realpath(path, NULL);
			if (!real) {
				sul_buf_adds(h, "<span class=\"missing\">");
				esc(h, label(r, i, 0));
				sul_buf_adds(h, "</span> (missing: ");
				esc(h, path);
				sul_buf_adds(h, ")");
			} else {
				rel = relative_path(outreal, real);
				sul_buf_adds(h, "<a href=\"");
				add_url_path(h, rel);
				sul_buf_adds(h, "\">");
				esc(h, label(r, i, 0));
				sul_buf_adds(h, "</a>");
				free(rel);
			}
			free(real);
			free(path);
		} else {
			esc(h, label(r, i, 0));
		}
		for (c = 2; c < r->ncols; c++) {
			if (!cell_at(r, i, c)->text)
				continue;
			sul_buf_adds(h, *sep ? sep : " <span class=\"note\">");
			esc(h, label(r, i, c));
			sep = " \xc2\xb7 ";
		}
		if (*sep)
			sul_buf_adds(h, "</span>");
		sul_buf_adds(h, "</li>\n");
	}
	sul_buf_adds(h, "</ul>\n");
	ret = 0;
out:
	free(outreal);
	return ret;
}

static int render_section(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			  struct sul_buf *h, struct sul_err *err)
{
	struct rows r;
	int ret = -1;

	sul_buf_addf(h, "<section id=\"%s\" class=\"kind-%s\">\n<h2>", s->id, kind_names[s->kind]);
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
	switch (s->kind) {
	case K_TABLE: ret = check_columns(rep, s, &r, 1, INT_MAX, err); break;
	case K_LINKS: ret = check_columns(rep, s, &r, 2, INT_MAX, err); break;
	default: ret = check_columns(rep, s, &r, 3, 4, err); break;
	}
	if (ret)
		goto out;
	if (!r.n && s->kind != K_LINKS) {
		add_nodata(h, s);
	} else {
		switch (s->kind) {
		case K_TABLE: ret = render_table(rep, s, &r, h, err); break;
		case K_BARS: ret = render_bars(rep, s, &r, h, err); break;
		case K_LINES: ret = render_lines(rep, s, &r, h, err); break;
		case K_MATRIX: ret = render_matrix(rep, s, &r, h, err); break;
		case K_MONTAGE: ret = render_montage(rep, s, ctx, &r, h, err); break;
		case K_LINKS: ret = render_links(rep, s, ctx, &r, h, err); break;
		case K_TEXT:
		case NKINDS: break;
		}
	}
	sul_buf_adds(h, "</section>\n");
out:
	rows_release(&r);
	return ret;
}

/* --- the page ---------------------------------------------------------------- */

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Liberation Sans',sans-serif;"
	"color:#222;background:#f6f7f9;margin:0}\n"
	"header{background:#1f3a5f;color:#fff;padding:18px 32px}\n"
	"header h1{margin:0;font-size:22px;font-weight:600}\n"
	"header p{margin:4px 0 0;opacity:.8;font-size:13px}\n"
	"main,nav.toc{max-width:1240px;margin:0 auto;padding:0 32px}\n"
	"nav.toc{padding-top:16px}\n"
	"nav.toc h2{font-size:15px;margin:0 0 4px}\n"
	"nav.toc ol{margin:0;padding-left:22px;columns:2}\n"
	"nav.toc a{color:#1f3a5f}\n"
	"section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:12px 20px 18px;margin:18px 0}\n"
	"section h2{font-size:18px;margin:4px 0 10px;color:#1f3a5f}\n"
	"h3{font-size:14px;margin:14px 0 6px}\n"
	".scroll{overflow-x:auto}\n"
	"table.data{border-collapse:collapse;font-size:13px}\n"
	"table.data th,table.data td{padding:4px 10px;border-bottom:1px solid #eceef1;text-align:left;white-space:nowrap}\n"
	"table.data th{background:#f1f3f6;font-weight:600}\n"
	"table.data .num{text-align:right;font-variant-numeric:tabular-nums}\n"
	"table.data td.null{color:#aaa;text-align:center}\n"
	"table.data tbody tr:hover{background:#f8fafc}\n"
	".panels{display:flex;flex-wrap:wrap;gap:18px 28px}\n"
	"figure{margin:0}\n"
	"figure.panel figcaption{font-weight:600;font-size:13px;margin-bottom:4px}\n"
	".mrow{display:flex;align-items:flex-start;gap:10px;margin:6px 0}\n"
	".mrow-label{width:60px;flex:none;font-weight:600;padding-top:44px;overflow-wrap:anywhere}\n"
	".mimgs{display:flex;flex-wrap:wrap;gap:6px}\n"
	".mimgs figure{width:116px}\n"
	".mimgs img,.noimg{width:112px;height:112px;object-fit:contain;background:#000;border:2px solid #ddd;"
	"image-rendering:pixelated;display:block}\n"
	".noimg{background:#eee;color:#999;text-align:center;line-height:112px}\n"
	".mimgs figcaption{font-size:10px;color:#555;overflow-wrap:anywhere;line-height:1.25}\n"
	"p.nodata{color:#888;font-style:italic}\n"
	".note{color:#777;font-size:12px}\n"
	"ul.links{padding-left:20px;columns:2;font-size:13px}\n"
	".missing{color:#b33}\n"
	"footer{color:#888;font-size:12px;text-align:center;padding:8px 0 24px}\n";

int sul_report_render(const struct sul_report *rep, struct sul_report_ctx *ctx, struct sul_buf *html,
		      struct sul_err *err)
{
	char now[64];
	size_t i;

	sul_now_iso(now);
	sul_buf_adds(html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" GENERATOR_META "\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	esc(html, rep->title);
	sul_buf_addf(html, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header><h1>", css);
	esc(html, rep->title);
	sul_buf_adds(html, "</h1><p>");
	if (ctx->run_id > 0)
		sul_buf_addf(html, "run %lld \xc2\xb7 ", ctx->run_id);
	else
		sul_buf_adds(html, "no run recorded \xc2\xb7 ");
	sul_buf_addf(html, "generated %s", now);
	if (ctx->generator) {
		sul_buf_adds(html, " by ");
		esc(html, ctx->generator);
	}
	sul_buf_adds(html, "</p></header>\n<nav class=\"toc\"><h2>Contents</h2><ol>\n");
	for (i = 0; i < rep->n; i++) {
		sul_buf_addf(html, "<li><a href=\"#%s\">", rep->sec[i].id);
		esc(html, rep->sec[i].title);
		sul_buf_adds(html, "</a></li>\n");
	}
	sul_buf_adds(html, "</ol></nav>\n<main>\n");
	for (i = 0; i < rep->n; i++)
		if (render_section(rep, &rep->sec[i], ctx, html, err))
			return -1;
	sul_buf_adds(html, "</main>\n<footer>static report: every figure is drawn from the results database; "
			   "images are copies in img/</footer>\n</body>\n</html>\n");
	return 0;
}

/* --- writing OUT/ ------------------------------------------------------------ */

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int holds_report(const char *index)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err ignored = SUL_ERR_INIT;
	int ours = !sul_read_file(index, &b, &ignored) && strstr(b.buf, GENERATOR_META);

	sul_buf_release(&b);
	return ours;
}

int sul_report_write(const struct sul_report *rep, struct sul_report_ctx *ctx, const char *out_dir,
		     struct sul_err *err)
{
	char *index = sul_xasprintf("%s/index.html", out_dir), *img = sul_xasprintf("%s/img", out_dir);
	char *staging = sul_xasprintf("%s/.img.tmp.%ld", out_dir, (long)getpid());
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err ignored = SUL_ERR_INIT;
	struct stat st;
	int ret = -1;

	if (!stat(out_dir, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			sul_err_set(err, SUL_ERR_INPUT, "report folder '%s' is not a folder", out_dir);
			goto out;
		}
		if (!dir_is_empty(out_dir) && !holds_report(index)) {
			sul_err_set(err, SUL_ERR_INPUT,
				    "report folder '%s' is not empty and holds no earlier report: refusing to write into it",
				    out_dir);
			goto out;
		}
	} else if (errno != ENOENT) {
		sul_err_sys(err, "cannot read '%s'", out_dir);
		goto out;
	}
	if (sul_rmtree(staging, err) || sul_mkdirs(staging, err))
		goto out;
	ctx->out_dir = out_dir;
	ctx->img_dir = staging;
	ctx->nimages = 0;
	if (sul_report_render(rep, ctx, &html, err)) {
		sul_rmtree(staging, &ignored);
		goto out;
	}
	if (sul_rmtree(img, err))
		goto out;
	if (rename(staging, img)) {
		sul_err_sys(err, "cannot rename '%s' to '%s'", staging, img);
		goto out;
	}
	ctx->img_dir = NULL;
	if (sul_write_file_atomic(index, html.buf, html.len, err))
		goto out;
	ret = 0;
out:
	sul_buf_release(&html);
	free(index);
	free(img);
	free(staging);
	return ret;
}
