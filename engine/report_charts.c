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

int sul_report_render_bars(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct sul_report_names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), p, i;
	double *vals = sul_xcalloc(r->n + 1, sizeof(*vals));
	int base = r->ncols - 3, ret = -1, shown = 0;

	(void)ctx;
	for (i = 0; i < r->n; i++)
		if (sul_report_cell_number(rep, s, r, i, base + 2, &vals[i], err))
			goto out;
	sul_report_split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct sul_report_names cats = { 0 }, series = { 0 };
		struct sul_svg_bars chart;
		double *grid;
		int any = 0;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p) {
				sul_report_names_index(&cats, sul_report_label(r, i, base));
				sul_report_names_index(&series, sul_report_label(r, i, base + 1));
			}
		grid = sul_xcalloc(cats.n * series.n + 1, sizeof(*grid));
		for (i = 0; i < cats.n * series.n; i++)
			grid[i] = NAN;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p && isfinite(vals[i])) {
				grid[sul_report_names_index(&cats, sul_report_label(r, i, base)) * series.n
				     + sul_report_names_index(&series, sul_report_label(r, i, base + 1))] = vals[i];
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
			sul_report_panel_open(h, base, panels.v[p]);
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
	sul_report_names_release(&panels);
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
	struct sul_report_names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), p, i;
	double *vals = sul_xcalloc(r->n + 1, sizeof(*vals));
	int base = r->ncols - 3, ret = -1;

	(void)ctx;
	for (i = 0; i < r->n; i++)
		if (sul_report_cell_number(rep, s, r, i, base + 2, &vals[i], err))
			goto out;
	sul_report_split_panels(r, 4, &panels, panel_of);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct sul_report_names rs = { 0 }, cs = { 0 };
		struct sul_svg_matrix chart;
		double *grid;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p) {
				sul_report_names_index(&rs, sul_report_label(r, i, base));
				sul_report_names_index(&cs, sul_report_label(r, i, base + 1));
			}
		grid = sul_xcalloc(rs.n * cs.n + 1, sizeof(*grid));
		for (i = 0; i < rs.n * cs.n; i++)
			grid[i] = NAN;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p)
				grid[sul_report_names_index(&rs, sul_report_label(r, i, base)) * cs.n + sul_report_names_index(&cs, sul_report_label(r, i, base + 1))] =
					vals[i];
		chart.row_label = s->row_label ? s->row_label : r->names[base];
		chart.col_label = s->col_label ? s->col_label : r->names[base + 1];
		chart.rows = rs.v;
		chart.nrows = rs.n;
		chart.cols = cs.v;
		chart.ncols = cs.n;
		chart.values = grid;
		sul_report_panel_open(h, base, panels.v[p]);
		sul_svg_matrix(h, &chart);
		sul_buf_adds(h, "</figure>\n");
		free(grid);
		sul_report_names_release(&rs);
		sul_report_names_release(&cs);
	}
	sul_buf_adds(h, "</div>\n");
	if (!panels.n)
		sul_report_add_nodata(h, s);
	ret = 0;
out:
	sul_report_names_release(&panels);
	free(panel_of);
	free(vals);
	return ret;
}
