/*
 * query_print.c - rows as a table, CSV or JSON (see query_print.h).
 */
#include "query_print.h"
#include "query.h"
#include "strbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Written out in pieces of about this size, so a large result is not held
 * whole in memory (CSV and JSON). */
#define FLUSH_AT 65536

static void add_csv(struct sul_buf *b, const char *s)
{
	if (!s[strcspn(s, ",\"\n\r")]) {
		sul_buf_adds(b, s);
		return;
	}
	sul_buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			sul_buf_addc(b, '"');
		sul_buf_addc(b, *s);
	}
	sul_buf_addc(b, '"');
}

static void add_json_value(struct sul_buf *b, sqlite3_stmt *st, int col)
{
	char *text;

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		sul_buf_adds(b, "null");
		return;
	case SQLITE_FLOAT:
		if (!isfinite(sqlite3_column_double(st, col))) {
			sul_buf_adds(b, "null");
			return;
		}
		/* fall through */
	case SQLITE_INTEGER:
		text = sul_query_cell_text(st, col);
		sul_buf_adds(b, text);
		free(text);
		return;
	default:
		sul_buf_add_json_str(b, (const char *)sqlite3_column_text(st, col));
	}
}

static void add_csv_row(struct sul_buf *b, sqlite3_stmt *st, int ncols)
{
	int c;

	for (c = 0; c < ncols; c++) {
		char *text = sul_query_cell_text(st, c);
		if (c)
			sul_buf_addc(b, ',');
		add_csv(b, text ? text : "");
		free(text);
	}
	sul_buf_addc(b, '\n');
}

static void add_json_row(struct sul_buf *b, sqlite3_stmt *st, int ncols, int first)
{
	int c;

	sul_buf_adds(b, first ? "\n  {" : ",\n  {");
	for (c = 0; c < ncols; c++) {
		if (c)
			sul_buf_adds(b, ", ");
		sul_buf_add_json_str(b, sqlite3_column_name(st, c));
		sul_buf_adds(b, ": ");
		add_json_value(b, st, c);
	}
	sul_buf_addc(b, '}');
}

static int print_streamed(sqlite3_stmt *st, enum sul_query_format fmt, FILE *out, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	int ncols = sqlite3_column_count(st), c, r, first = 1;

	if (fmt == SUL_QUERY_CSV) {
		for (c = 0; c < ncols; c++) {
			if (c)
				sul_buf_addc(&b, ',');
			add_csv(&b, sqlite3_column_name(st, c));
		}
		sul_buf_addc(&b, '\n');
	} else {
		sul_buf_addc(&b, '[');
	}
	while ((r = sul_query_step(st, err)) > 0) {
		if (fmt == SUL_QUERY_CSV)
			add_csv_row(&b, st, ncols);
		else
			add_json_row(&b, st, ncols, first);
		first = 0;
		if (b.len > FLUSH_AT) {
			fwrite(b.buf, 1, b.len, out);
			sul_buf_reset(&b);
		}
	}
	if (fmt == SUL_QUERY_JSON)
		sul_buf_adds(&b, first ? "]\n" : "\n]\n");
	fwrite(b.buf, 1, b.len, out);
	sul_buf_release(&b);
	return r;
}

static void add_dashes(struct sul_buf *b, size_t n)
{
	while (n--)
		sul_buf_addc(b, '-');
}

static int print_table(sqlite3_stmt *st, FILE *out, struct sul_err *err)
{
	struct sul_query_rows t;
	struct sul_buf b = SUL_BUF_INIT;
	size_t *width, i;
	int *numeric, c;

	if (sul_query_read(st, &t, err))
		return -1;
	width = sul_xcalloc((size_t)t.ncols + 1, sizeof(*width));
	numeric = sul_xcalloc((size_t)t.ncols + 1, sizeof(*numeric));
	for (c = 0; c < t.ncols; c++) {
		numeric[c] = sul_query_column_is_numeric(&t, c);
		width[c] = strlen(t.names[c]);
		for (i = 0; i < t.n; i++) {
			const char *cell = sul_query_cell(&t, i, c)->text;
			if (cell && strlen(cell) > width[c])
				width[c] = strlen(cell);
		}
	}
	for (c = 0; c < t.ncols; c++)
		sul_buf_addf(&b, "%s%-*s", c ? "  " : "", c == t.ncols - 1 ? 0 : (int)width[c], t.names[c]);
	sul_buf_addc(&b, '\n');
	for (c = 0; c < t.ncols; c++) {
		if (c)
			sul_buf_adds(&b, "  ");
		add_dashes(&b, width[c]);
	}
	sul_buf_addc(&b, '\n');
	for (i = 0; i < t.n; i++) {
		for (c = 0; c < t.ncols; c++) {
			const char *cell = sul_query_cell(&t, i, c)->text;
			if (c)
				sul_buf_adds(&b, "  ");
			if (numeric[c])
				sul_buf_addf(&b, "%*s", (int)width[c], cell ? cell : "");
			else
				sul_buf_addf(&b, "%-*s", c == t.ncols - 1 ? 0 : (int)width[c], cell ? cell : "");
		}
		/* A short NULL or text cell in the last columns pads nothing. */
		while (b.len && b.buf[b.len - 1] == ' ')
			b.buf[--b.len] = '\0';
		sul_buf_addc(&b, '\n');
	}
	fwrite(b.buf, 1, b.len, out);
	sul_buf_release(&b);
	free(width);
	free(numeric);
	sul_query_rows_release(&t);
	return 0;
}

int sul_query_print(sqlite3_stmt *st, enum sul_query_format fmt, FILE *out, struct sul_err *err)
{
	if (fmt == SUL_QUERY_TABLE)
		return print_table(st, out, err);
	return print_streamed(st, fmt, out, err) < 0 ? -1 : 0;
}
