/*
 * report.h - a static HTML report of the results database, driven by a
 * declarative spec (libconfig syntax, like workflow files).
 *
 * Which spec a workflow gets is data that travels with the workflow: a file
 * beside it (sul_report_find_spec), else the generic one built in.
 *
 * A spec is a title and a list of sections; each section has an id (the
 * HTML id of its <section>), a title, a presentation kind and, except for
 * "text", one read-only SQL query whose rows it presents:
 *
 *   title = "My study";
 *   sections = (
 *     { id = "curves"; title = "Training curves"; kind = "lines";
 *       x_label = "epoch"; y_label = "loss";
 *       query = "SELECT e.stage, m.name, m.step, m.value FROM executions e "
 *               "JOIN metrics m USING (cache_key) WHERE e.run_id = :run"; }
 *   );
 *
 * Kinds and the columns their query returns (by position; "[panel,]" means
 * an optional first column that splits the rows into one chart each):
 *
 *   table    any columns: an HTML table (NULL shown as an en dash)
 *   bars     [panel,] category, series, value: grouped bars (x_label, y_label)
 *   lines    [panel,] series, x, y: a line per series (x_label, y_label)
 *   matrix   [panel,] row, col, value: colored cells (row_label, col_label)
 *   montage  [panel,] row, col, image: an image grid, at most per_panel
 *            (default 12) images per panel, copied into OUT/img/
 *   links    label, path [, note...]: links to files, relative to OUT
 *   text     no query: the section's text only
 *
 * Every section may have `text` (paragraphs, split at blank lines, shown
 * above its content) and `empty` (the note shown when the query returns no
 * rows; default "No data.").  The parameter :run in a query is bound to the
 * run being reported on (NULL when there is none); no other parameter is.
 * Paths (montage images, links): a column named `file` holds CACHE_KEY/PATH,
 * the file PATH in that cache entry's output
 * (WORKSPACE/cache/CACHE_KEY/out/PATH; in SQL: cache_key || '/' || path
 * from artifacts); any other column holds a file system path, relative to
 * the current folder.  A missing file is shown as missing, not an error.
 *
 * This module knows nothing of MRI, Darknet or any table but what the spec
 * queries.  It does not open the database (the caller passes it, read-only)
 * and prints nothing.
 */
#ifndef SUL_REPORT_H
#define SUL_REPORT_H

#include <sqlite3.h>

#include "err.h"
#include "strbuf.h"

/* The generic spec, db/report-generic.cfg, embedded at build time
 * (Makefile): the run, stages, metrics and outputs, from the engine's own
 * tables, for a workflow that has no spec of its own. */
extern const char sul_report_generic_spec[];
#define SUL_REPORT_GENERIC_SPEC_NAME "db/report-generic.cfg"

/*
 * The spec that travels with the workflow file at workflow: the first of
 * DIR/NAME.report.cfg (NAME.cfg being the workflow file) and DIR/report.cfg
 * that exists, DIR being the workflow file's folder.  Returns its path
 * (caller frees), or NULL when there is none.  looked_at, when not NULL,
 * gets the candidates ("'A' or 'B'"), for the caller's note.
 */
char *sul_report_find_spec(const char *workflow, struct sul_buf *looked_at);

struct sul_report;

/*
 * Parses and validates a spec; name is the file name used in messages
 * ("NAME:LINE: section 'ID': ...").  Unknown keys and keys that do not
 * apply to a section's kind are errors.  *out is the caller's to free with
 * sul_report_free; nothing is allocated on failure.
 */
int sul_report_parse(const char *text, const char *name, struct sul_report **out, struct sul_err *err);
void sul_report_free(struct sul_report *rep);
size_t sul_report_nsections(const struct sul_report *rep);

struct sul_report_ctx {
	sqlite3 *db;             /* the results database, opened read-only */
	long long run_id;        /* bound to :run; 0 binds NULL */
	long long other_run_id;  /* bound to :other (--compare); 0 binds NULL */
	const char *cache_dir;   /* the workspace's cache folder, for `file` columns; NULL: none */
	const char *out_dir;     /* the report's folder (exists); links are relative to it */
	const char *img_dir;     /* where images and linked files are copied (exists); the page names them img/NAME */
	const char *generator;   /* "sulcus 0.1.0", shown in the page header */
	size_t nimages;          /* out: images copied */
	size_t nfiles;           /* out: linked files copied (volumes, logs) */
};

/*
 * Renders the whole page into html (appending), copying montage images
 * into ctx->img_dir.  Fails on a query that does not prepare or run, writes,
 * or returns columns the kind cannot use: the message names the spec's file,
 * line and section.  On failure html holds a partial page and img_dir some
 * images: the caller discards both.
 */
int sul_report_render(const struct sul_report *rep, struct sul_report_ctx *ctx, struct sul_buf *html,
		      struct sul_err *err);

/*
 * Writes OUT/index.html and OUT/img/ (OUT = out_dir, created if needed):
 * the page is rendered with images going to a staging folder first, so a
 * failing section leaves an earlier report as it was.  A non-empty OUT that
 * holds no earlier sulcus report is refused rather than written into.
 * ctx->out_dir and ctx->img_dir are set here.
 */
int sul_report_write(const struct sul_report *rep, struct sul_report_ctx *ctx, const char *out_dir,
		     struct sul_err *err);

#endif
