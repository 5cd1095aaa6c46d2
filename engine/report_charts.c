/*
 * report_charts.c - the chart kinds of the report: grouped bars, lines and
 * colored matrices, one chart per panel (the optional first column), drawn
 * by svg.c from the section's rows.  Values are read as numbers here; what
 * they mean is the spec's business.
 */
#include "report_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A section of three columns (row label, column label, value) after its
 * optional panel column: the values as numbers, and the panel of each row. */
struct panel_table {
	struct sul_report_names panels;
	size_t *panel_of;
	double *vals;
	int base;  /* the row label's column */
};

static int panel_table_read(const struct sul_report *rep, const struct section *s, const struct sul_query_rows *r,
			    struct panel_table *t, struct sul_err *err)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->panel_of = sul_xcalloc(r->n + 1, sizeof(*t->panel_of));
	t->vals = sul_xcalloc(r->n + 1, sizeof(*t->vals));
	t->base = r->ncols - 3;
	for (i = 0; i < r->n; i++)
		if (sul_report_cell_number(rep, s, r, i, t->base + 2, &t->vals[i], err))
			return -1;
	sul_report_split_panels(r, 4, &t->panels, t->panel_of);
	return 0;
}

static void panel_table_release(struct panel_table *t)
{
	sul_report_names_release(&t->panels);
	free(t->panel_of);
	free(t->vals);
}

/* Panel p as a grid of rows x cols (named in order of appearance), NaN
 * where no row gives a cell; with finite_only, values that are not finite
 * stay NaN.  Returns how many cells got a finite value; the caller frees
 * *grid and releases the names. */
static size_t panel_grid(const struct sul_query_rows *r, const struct panel_table *t, size_t p, int finite_only,
			 struct sul_report_names *rows, struct sul_report_names *cols, double **grid)
{
	size_t i, filled = 0;

	memset(rows, 0, sizeof(*rows));
	memset(cols, 0, sizeof(*cols));
	for (i = 0; i < r->n; i++)
		if (t->panel_of[i] == p) {
			sul_report_names_index(rows, sul_report_label(r, i, t->base));
			sul_report_names_index(cols, sul_report_label(r, i, t->base + 1));
		}
	*grid = sul_xcalloc(rows->n * cols->n + 1, sizeof(**grid));
	for (i = 0; i < rows->n * cols->n; i++)
		(*grid)[i] = NAN;
	for (i = 0; i < r->n; i++)
		if (t->panel_of[i] == p && (!finite_only || isfinite(t->vals[i]))) {
			(*grid)[sul_report_names_index(rows, sul_report_label(r, i, t->base)) * cols->n
				+ sul_report_names_index(cols, sul_report_label(r, i, t->base + 1))] = t->vals[i];
			filled += isfinite(t->vals[i]) != 0;
		}
	return filled;
}

int sul_report_render_bars(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct panel_table t;
	int base = r->ncols - 3, ret = -1, shown = 0;
	size_t p;

	(void)ctx;
	if (panel_table_read(rep, s, r, &t, err))
		goto out;
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < t.panels.n; p++) {
		struct sul_report_names cats, series;
		struct sul_svg_bars chart;
		double *grid;
		if (panel_grid(r, &t, p, 1, &cats, &series, &grid)) {
			chart.x_label = s->x_label ? s->x_label : r->names[base];
			chart.y_label = s->y_label ? s->y_label : r->names[base + 2];
			chart.cats = cats.v;
			chart.ncats = cats.n;
			chart.series = series.v;
			chart.nseries = series.n;
			chart.values = grid;
			sul_report_panel_open(h, base, t.panels.v[p]);
			sul_svg_bars(h, &chart);
			sul_buf_adds(h, "</figure>\n");
			shown++;
		}
		free(grid);
		sul_report_names_release(&cats);
		sul_report_names_release(&series);
	}
	sul_buf_adds(h, "</div>\n");
	if (!shown)
		sul_report_add_nodata(h, s);
	ret = 0;
out:
	panel_table_release(&t);
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

int sul_report_render_lines(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct sul_report_names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), p, i, k;
	double *xs = sul_xcalloc(r->n + 1, sizeof(*xs)), *ys = sul_xcalloc(r->n + 1, sizeof(*ys));
	int base = r->ncols - 3, ret = -1, shown = 0;

	(void)ctx;
	for (i = 0; i < r->n; i++)
		if (sul_report_cell_number(rep, s, r, i, base + 1, &xs[i], err) || sul_report_cell_number(rep, s, r, i, base + 2, &ys[i], err))
			goto out;
	sul_report_split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct sul_report_names series = { 0 };
		struct sul_svg_line *lines;
		struct sul_svg_lines chart;
		struct point *pts = sul_xcalloc(r->n + 1, sizeof(*pts));
		double *px = sul_xcalloc(r->n + 1, sizeof(*px)), *py = sul_xcalloc(r->n + 1, sizeof(*py));
		size_t used = 0;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p && isfinite(xs[i]) && isfinite(ys[i]))
				sul_report_names_index(&series, sul_report_label(r, i, base));
		lines = sul_xcalloc(series.n + 1, sizeof(*lines));
		/* Each series' points, sorted by x, laid end to end in px/py. */
		for (k = 0; k < series.n; k++) {
			size_t np = 0, q;
			for (i = 0; i < r->n; i++)
				if (panel_of[i] == p && isfinite(xs[i]) && isfinite(ys[i])
				    && !strcmp(sul_report_label(r, i, base), series.v[k])) {
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
			sul_report_panel_open(h, base, panels.v[p]);
			sul_svg_lines(h, &chart);
			sul_buf_adds(h, "</figure>\n");
			shown++;
		}
		free(lines);
		free(pts);
		free(px);
		free(py);
		sul_report_names_release(&series);
	}
	sul_buf_adds(h, "</div>\n");
	if (!shown)
		sul_report_add_nodata(h, s);
	ret = 0;
out:
	sul_report_names_release(&panels);
	free(panel_of);
	free(xs);
	free(ys);
	return ret;
}

int sul_report_render_matrix(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct panel_table t;
	int base = r->ncols - 3, ret = -1;
	size_t p;

	(void)ctx;
	if (panel_table_read(rep, s, r, &t, err))
		goto out;
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < t.panels.n; p++) {
		struct sul_report_names rs, cs;
		struct sul_svg_matrix chart;
		double *grid;
		panel_grid(r, &t, p, 0, &rs, &cs, &grid);
		chart.row_label = s->row_label ? s->row_label : r->names[base];
		chart.col_label = s->col_label ? s->col_label : r->names[base + 1];
		chart.rows = rs.v;
		chart.nrows = rs.n;
		chart.cols = cs.v;
		chart.ncols = cs.n;
		chart.values = grid;
		sul_report_panel_open(h, base, t.panels.v[p]);
		sul_svg_matrix(h, &chart);
		sul_buf_adds(h, "</figure>\n");
		free(grid);
		sul_report_names_release(&rs);
		sul_report_names_release(&cs);
	}
	sul_buf_adds(h, "</div>\n");
	if (!t.panels.n)
		sul_report_add_nodata(h, s);
	ret = 0;
out:
	panel_table_release(&t);
	return ret;
}

/* --- graph ----------------------------------------------------------------- */

/* Rows (node, note, input): a node per distinct first column, an edge from
 * each non-NULL input that names a node.  Drawn inputs first; a cycle (not
 * from a workflow) leaves its nodes in row order. */
int sul_report_render_graph(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			    const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct sul_report_names nodes = { 0 };
	size_t n, i, k, done = 0, *ninputs, *order, *pending, **inputs;
	const char **notes;
	struct sul_svg_graph g;

	(void)rep;
	(void)ctx;
	(void)err;
	for (i = 0; i < r->n; i++)
		sul_report_names_index(&nodes, sul_report_label(r, i, 0));
	n = nodes.n;
	notes = sul_xcalloc(n + 1, sizeof(*notes));
	ninputs = sul_xcalloc(n + 1, sizeof(*ninputs));
	inputs = sul_xcalloc(n + 1, sizeof(*inputs));
	order = sul_xcalloc(n + 1, sizeof(*order));
	pending = sul_xcalloc(n + 1, sizeof(*pending));
	for (i = 0; i < r->n; i++) {
		size_t to = sul_report_names_index(&nodes, sul_report_label(r, i, 0));
		const struct sul_query_cell *in = sul_query_cell(r, i, 2);
		if (!notes[to])
			notes[to] = sul_report_label(r, i, 1);
		for (k = 0; in->text && k < n && strcmp(nodes.v[k], in->text); k++)
			;
		if (in->text && k < n) {
			inputs[to] = sul_xrealloc(inputs[to], (ninputs[to] + 1) * sizeof(**inputs));
			inputs[to][ninputs[to]++] = k;
		}
	}
	/* Inputs first: repeatedly take the nodes whose inputs are all taken. */
	for (;;) {
		size_t before = done;
		for (i = 0; i < n; i++) {
			int ready = !pending[i];
			for (k = 0; ready && k < ninputs[i]; k++)
				ready = pending[inputs[i][k]];
			if (ready) {
				pending[i] = 1;
				order[done++] = i;
			}
		}
		if (done == before)
			break;
	}
	for (i = 0; i < n && done < n; i++)
		if (!pending[i])
			order[done++] = i;
	g.n = n;
	g.names = nodes.v;
	g.notes = notes;
	g.inputs = (const size_t *const *)inputs;
	g.ninputs = ninputs;
	g.order = order;
	sul_buf_adds(h, "<figure class=\"graph\">");
	sul_svg_graph(h, &g);
	sul_buf_adds(h, "</figure>\n");
	(void)s;
	for (i = 0; i < n; i++)
		free(inputs[i]);
	free(inputs);
	free(ninputs);
	free(order);
	free(pending);
	free(notes);
	sul_report_names_release(&nodes);
	return 0;
}
