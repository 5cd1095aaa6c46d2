/*
 * query.c - read-only statements prepared, stepped and read into memory,
 * and the one number-to-text rule (see query.h).  Nothing here knows a
 * table of the schema or how rows are shown.
 */
#include "query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sul_query_batch_release(struct sul_query_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		sqlite3_finalize(b->st[i]);
	free(b->st);
	memset(b, 0, sizeof(*b));
}

/* The index of parameter name in st under any of SQLite's prefixes, or 0. */
static int param_index(sqlite3_stmt *st, const char *name, size_t len)
{
	static const char prefixes[] = ":@$";
	char buf[128];
	int k, idx;

	if (len + 2 > sizeof(buf))
		return 0;
	for (k = 0; prefixes[k]; k++) {
		buf[0] = prefixes[k];
		memcpy(buf + 1, name, len);
		buf[len + 1] = '\0';
		if ((idx = sqlite3_bind_parameter_index(st, buf)))
			return idx;
	}
	return 0;
}

int sul_query_bind(struct sul_query_batch *b, const char *const *pairs, size_t n, struct sul_err *err)
{
	size_t i, k;

	for (k = 0; k < n; k++) {
		const char *eq = strchr(pairs[k], '='), *value = eq + 1;
		size_t len = (size_t)(eq - pairs[k]);
		int used = 0;
		char *end;
		long long iv = strtoll(value, &end, 10);
		int is_int = *value && !*end;
		double dv = is_int ? 0 : strtod(value, &end);
		int is_real = !is_int && *value && !*end;

		for (i = 0; i < b->n; i++) {
			int idx = param_index(b->st[i], pairs[k], len);
			if (!idx)
				continue;
			used = 1;
			if (is_int)
				sqlite3_bind_int64(b->st[i], idx, iv);
			else if (is_real)
				sqlite3_bind_double(b->st[i], idx, dv);
			else
				sqlite3_bind_text(b->st[i], idx, value, -1, SQLITE_TRANSIENT);
		}
		if (!used)
			return sul_err_set(err, SUL_ERR_INPUT, "parameter '%.*s' is not used by the SQL", (int)len,
					   pairs[k]);
	}
	for (i = 0; i < b->n; i++) {
		int np = sqlite3_bind_parameter_count(b->st[i]), idx;
		for (idx = 1; idx <= np; idx++) {
			const char *name = sqlite3_bind_parameter_name(b->st[i], idx);
			int given = 0;
			for (k = 0; k < n && name && !given; k++) {
				size_t len = (size_t)(strchr(pairs[k], '=') - pairs[k]);
				given = strlen(name + 1) == len && !strncmp(name + 1, pairs[k], len);
			}
			if (!name || name[0] == '?')
				return sul_err_set(err, SUL_ERR_INPUT, "the SQL uses a '?' parameter, which --param "
								       "cannot name: write :NAME instead");
			if (!given)
				return sul_err_set(err, SUL_ERR_INPUT, "the SQL uses %s: give it with --param %s=VALUE",
						   name, name + 1);
		}
	}
	return 0;
}

int sul_query_prepare(sqlite3 *db, const char *sql, struct sul_query_batch *b, struct sul_err *err)
{
	const char *tail;

	for (;;) {
		sqlite3_stmt *st = NULL;
		while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == ';')
			sql++;
		if (!*sql)
			return 0;
		if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK)
			return sul_err_set(err, SUL_ERR_INPUT, "%s", sqlite3_errmsg(db));
		if (!st) {
			/* Only a comment: SQLite prepares nothing and may not move on. */
			if (tail == sql)
				return 0;
			sql = tail;
			continue;
		}
		SUL_ALLOC_GROW(b->st, b->n + 1, b->alloc);
		b->st[b->n++] = st;
		if (!sqlite3_stmt_readonly(st))
			return sul_err_set(err, SUL_ERR_INPUT,
					   "only statements that read are allowed, and this one writes: '%.*s'",
					   (int)(tail - sql), sql);
		sql = tail;
	}
}

int sul_query_step(sqlite3_stmt *st, struct sul_err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	sul_err_set(err, SUL_ERR_INPUT, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
	sqlite3_reset(st);
	return -1;
}

/* The shortest of %.15g, %.16g and %.17g that reads back as v: 17
 * significant digits always round-trip a double, but print 0.1 as
 * 0.10000000000000001; 15 never show such a spurious tail, but lose
 * 0.1 + 0.2 (which is not 0.3). */
void sul_query_add_number(struct sul_buf *b, double v)
{
	char s[40];
	int prec;

	if (isnan(v)) {
		sul_buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		sul_buf_adds(b, v < 0 ? "-Inf" : "Inf");
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(s, sizeof(s), "%.17g", v);
	sul_buf_adds(b, s);
	if (!strpbrk(s, ".e"))
		sul_buf_adds(b, ".0");
}

char *sul_query_cell_text(sqlite3_stmt *st, int col)
{
	struct sul_buf b = SUL_BUF_INIT;
	const unsigned char *t;

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_INTEGER:
		sul_buf_addf(&b, "%lld", (long long)sqlite3_column_int64(st, col));
		return sul_buf_detach(&b);
	case SQLITE_FLOAT:
		sul_query_add_number(&b, sqlite3_column_double(st, col));
		return sul_buf_detach(&b);
	default:
		t = sqlite3_column_text(st, col);
		return sul_xstrdup(t ? (const char *)t : "");
	}
}

void sul_query_rows_release(struct sul_query_rows *r)
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

int sul_query_read(sqlite3_stmt *st, struct sul_query_rows *out, struct sul_err *err)
{
	int c, r;

	memset(out, 0, sizeof(*out));
	out->ncols = sqlite3_column_count(st);
	out->names = sul_xcalloc((size_t)out->ncols + 1, sizeof(*out->names));
	for (c = 0; c < out->ncols; c++)
		out->names[c] = sul_xstrdup(sqlite3_column_name(st, c));
	while ((r = sul_query_step(st, err)) > 0) {
		SUL_ALLOC_GROW(out->cells, (out->n + 1) * (size_t)out->ncols, out->alloc);
		for (c = 0; c < out->ncols; c++) {
			struct sul_query_cell *cl = &out->cells[out->n * (size_t)out->ncols + (size_t)c];
			cl->type = sqlite3_column_type(st, c);
			cl->num = cl->type == SQLITE_INTEGER ? (double)sqlite3_column_int64(st, c)
				  : cl->type == SQLITE_FLOAT ? sqlite3_column_double(st, c)
							     : NAN;
			cl->text = sul_query_cell_text(st, c);
		}
		out->n++;
	}
	if (r < 0) {
		sul_query_rows_release(out);
		return -1;
	}
	return 0;
}

int sul_query_column_is_numeric(const struct sul_query_rows *r, int col)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		int t = sul_query_cell(r, i, col)->type;
		if (t != SQLITE_INTEGER && t != SQLITE_FLOAT && t != SQLITE_NULL)
			return 0;
	}
	return 1;
}
