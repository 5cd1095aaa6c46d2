/*
 * report_private.h - what the report's files share and nothing outside
 * them uses (the public interface is report.h):
 *
 *   report_spec.c     the spec parsed and checked into struct sul_report
 *   report_render.c   one section: its query run, the table kind, and the
 *                     pieces the other kinds share (panels, labels, notes)
 *   report_charts.c   the chart kinds: bars, lines, matrix (drawn by svg.c)
 *   report_files.c    the kinds that show files: montage, links
 *   report_page.c     the page around the sections, and writing OUT/
 */
#ifndef SUL_REPORT_PRIVATE_H
#define SUL_REPORT_PRIVATE_H

#include "query.h"
#include "report.h"
#include "svg.h"

enum kind { K_TABLE, K_BARS, K_LINES, K_MATRIX, K_MONTAGE, K_LINKS, K_GRAPH, K_TEXT, NKINDS };

/* "table", "bars", ...: the spec's word for each kind. */
extern const char *const sul_report_kind_names[NKINDS];

struct section {
	char *id, *title, *text, *query, *empty;
	char *x_label, *y_label, *row_label, *col_label;
	char *colorbar;   /* montage: "#RRGGBB OFFSET, ..." low to high, or NULL */
	long long per_panel;
	enum kind kind;
	int line;   /* in the spec, for messages */
};

struct sul_report {
	char *name;    /* the spec's file name, for messages */
	char *title;
	struct section *sec;
	size_t n;
};

/*
 * A kind's renderer: appends the section's content (inside its <section>)
 * for rows, which has the number of columns the kind reads (checked by the
 * caller) and at least one row.  Messages name the
 * spec's file, line and section (sul_report_fail).
 */
typedef int report_render_fn(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err);
report_render_fn sul_report_render_bars, sul_report_render_lines, sul_report_render_matrix;
report_render_fn sul_report_render_montage, sul_report_render_links, sul_report_render_graph;

/* Appends section s, from its <section> to </section> (report_render.c). */
int sul_report_render_section(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			      struct sul_buf *h, struct sul_err *err);

/* --- shared by the renderers (report_render.c) --------------------------- */

/* Sets err to "SPEC:LINE: section 'ID': MESSAGE" (SUL_ERR_INPUT); returns -1. */
int sul_report_fail(const struct sul_report *rep, const struct section *s, struct sul_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The cell as a label: "" for NULL. */
const char *sul_report_label(const struct sul_query_rows *r, size_t row, int col);

/* The cell as a number: NAN for NULL; text must read as a number whole. */
int sul_report_cell_number(const struct sul_report *rep, const struct section *s, const struct sul_query_rows *r,
			   size_t row, int col, double *v, struct sul_err *err);

/* Distinct strings in order of first appearance (borrowed, not copied). */
struct sul_report_names {
	const char **v;
	size_t n, alloc;
};
size_t sul_report_names_index(struct sul_report_names *ns, const char *s);
void sul_report_names_release(struct sul_report_names *ns);

/* Splits r's rows by the panel column (column 0 when r has `full` columns,
 * else one unnamed panel); panel_of[i] is row i's panel. */
void sul_report_split_panels(const struct sul_query_rows *r, int full, struct sul_report_names *panels,
			     size_t *panel_of);

/* Opens a <figure class="panel">, captioned with name when has_panel. */
void sul_report_panel_open(struct sul_buf *h, int has_panel, const char *name);

/* The section's note for no data ("No data." unless its `empty` says). */
void sul_report_add_nodata(struct sul_buf *h, const struct section *s);

#define esc sul_svg_escape

#endif
