/*
 * query.h - read-only SQL that people write (the argument of `sulcus
 * query`, a report spec's sections) run on the results database, and the
 * one rule by which a value read from it becomes text.
 *
 * Both `sulcus query` (cmd_query.c) and the report (report_render.c) go
 * through here, so a number prints the same in both: integers as integers,
 * reals in the shortest form that reads back as the same double, with
 * ".0" on whole reals so that they stay reals (0.1, 2.25, 3.0,
 * 0.30000000000000004, 1e+20).  Presentation rounding is the SQL's job
 * (round(x, 4)), never this module's: nothing read here loses a digit.
 *
 * This module does not open the database (callers pass a handle, opened
 * read-only) and prints nothing; query_print.h writes rows out.  It binds
 * parameters only when asked (sul_query_bind); one left unbound is NULL.
 */
#ifndef SUL_QUERY_H
#define SUL_QUERY_H

#include <sqlite3.h>
#include <stddef.h>

#include "err.h"
#include "strbuf.h"

/* The statements of one SQL text, in order. */
struct sul_query_batch {
	sqlite3_stmt **st;
	size_t n, alloc;
};
#define SUL_QUERY_BATCH_INIT { NULL, 0, 0 }

/*
 * Prepares every statement of sql into b (appending), each checked to only
 * read before any of them runs: a write after a SELECT is refused before
 * the SELECT prints a row.  Empty statements and comments are skipped.
 * Errors are SUL_ERR_INPUT with SQLite's message, unprefixed, or "only
 * statements that read are allowed, and this one writes: 'SQL'"; callers
 * add where the SQL came from.  On failure b holds what was prepared, for
 * sul_query_batch_release.
 */
int sul_query_prepare(sqlite3 *db, const char *sql, struct sul_query_batch *b, struct sul_err *err);
void sul_query_batch_release(struct sul_query_batch *b);

/*
 * Binds "NAME=VALUE" pairs to the parameters :NAME (or @NAME, $NAME) of b's
 * statements: a value that reads whole as an integer or a real binds as a
 * number, any other as text.  Each pair must name a parameter of some
 * statement, and each parameter must be given ("the SQL uses :stage: give
 * it with --param stage=VALUE"); errors are SUL_ERR_INPUT.
 */
int sul_query_bind(struct sul_query_batch *b, const char *const *pairs, size_t n, struct sul_err *err);

/* Steps st: 1 a row, 0 done, -1 error (SUL_ERR_INPUT, SQLite's message). */
int sul_query_step(sqlite3_stmt *st, struct sul_err *err);

/* Appends v by the one rule above; "NaN", "Inf" and "-Inf" as such. */
void sul_query_add_number(struct sul_buf *b, double v);

/* Column col of st's current row as text by the rule: NULL for NULL,
 * numbers as above, text and blobs as SQLite gives them.  Caller frees. */
char *sul_query_cell_text(sqlite3_stmt *st, int col);

/* Every row of a statement, read into memory so that a consumer sees whole
 * columns before it writes anything. */
struct sul_query_cell {
	int type;      /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB or _NULL */
	char *text;    /* sul_query_cell_text; NULL for NULL */
	double num;    /* INTEGER and FLOAT; NAN otherwise */
};
struct sul_query_rows {
	int ncols;
	char **names;
	struct sul_query_cell *cells;   /* row-major: n rows of ncols */
	size_t n, alloc;
};

/* Steps st to the end into out (initialized here).  On failure out is
 * empty and err says why (sul_query_step's messages). */
int sul_query_read(sqlite3_stmt *st, struct sul_query_rows *out, struct sul_err *err);
void sul_query_rows_release(struct sul_query_rows *r);

static inline const struct sul_query_cell *sul_query_cell(const struct sul_query_rows *r, size_t row, int col)
{
	return &r->cells[row * (size_t)r->ncols + (size_t)col];
}

/* The cells of column col are all numbers or NULL (a table aligns them right). */
int sul_query_column_is_numeric(const struct sul_query_rows *r, int col);

#endif
