/*
 * tsv.h - tab-separated tables with a header line (BIDS participants.tsv,
 * the index tables stages pass along).  Not a kind.  Values cannot hold
 * tabs or newlines; that is BIDS's rule too.
 */
#ifndef SUL_TSV_H
#define SUL_TSV_H

#include <stddef.h>

#include "../engine/err.h"
#include "../engine/strbuf.h"

struct sul_tsv {
	char *text;      /* the file, split in place */
	char **cells;    /* row-major, ncols per row; row 0 is the header */
	size_t ncols, nrows;  /* nrows counts the header */
};

/* Reads path; every row must have as many fields as the header. */
int sul_tsv_read(const char *path, struct sul_tsv *t, struct sul_err *err);
/* Column index of name, or -1. */
long sul_tsv_col(const struct sul_tsv *t, const char *name);
static inline const char *sul_tsv_at(const struct sul_tsv *t, size_t row, size_t col)
{
	return t->cells[row * t->ncols + col];
}
void sul_tsv_release(struct sul_tsv *t);

/*
 * Stages that rewrite a table (bias_correct, coregister) pass the files of
 * the columns they do not process along unchanged: every cell of a column
 * not in skip[0..nskip) that names a file in in_dir is copied to the same
 * relative path in out_dir (unless already there), so that paths in the
 * output table stay valid.
 */
int sul_tsv_carry(const struct sul_tsv *t, const char *const *skip, size_t nskip, const char *in_dir,
		  const char *out_dir, struct sul_err *err);

/*
 * Splits a comma-separated parameter ("T1w, T2w") in place into items
 * trimmed of spaces, the first max non-empty ones into items; returns how
 * many it stored.  Empty items are skipped.  When malformed is not NULL,
 * *malformed = 1 if an item was empty (a blank list is one empty item) or
 * there were more than max, else 0: a caller that must refuse such a list
 * checks it, the others take what there is.
 */
size_t sul_split_list(char *buf, char **items, size_t max, int *malformed);

struct sul_stage_ctx;

/*
 * The list parameter name of ctx, split as above and refused (naming the
 * parameter and the limit) when an item is empty or there are more than
 * max; a blank value is an empty list.  *buf holds the items: the caller
 * frees it, also on failure.  Every kind reads its list parameters through
 * this, in check() (sul_check_list) and in run().
 */
int sul_ctx_list(const struct sul_stage_ctx *ctx, const char *name, size_t max, char **buf, char **items,
		 size_t *n, struct sul_err *err);

/* For check(): fails with *about = name when sul_ctx_list would. */
int sul_check_list(const struct sul_stage_ctx *ctx, const char *name, size_t max, const char **about,
		   struct sul_err *err);

/* Appends a tab and v (%.6g), or only the tab for NaN: an empty field,
 * which the database reads as NULL (not measured, never 0). */
void sul_tsv_num(struct sul_buf *b, double v);

/* Writes a table of the stage's declared database tables (engine/kind.h
 * struct sul_table_spec): b's TSV text as ctx->out/tables/NAME.tsv,
 * atomically. */
int sul_ctx_table(const struct sul_stage_ctx *ctx, const char *name, const struct sul_buf *b, struct sul_err *err);

#endif
