/*
 * svg.c - bars, lines and matrices as inline SVG (see svg.h).
 *
 * Sizes are in CSS pixels; text widths are estimated (about 6.6 px per
 * character of a 12 px sans-serif font), which is enough to leave room for
 * labels and the legend without a font engine.  Long labels are cut with an
 * ellipsis.  Presentation attributes rather than CSS classes carry the
 * colors, so a chart looks the same copied out of the page.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAR_W 6.6
#define LABEL_MAX 24      /* characters of a category or legend label shown */
#define FONT "font-family=\"sans-serif\" font-size=\"12\""

/* Tableau 10: distinguishable, and still readable in grey. */
static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
};
#define NCOLORS (sizeof(palette) / sizeof(palette[0]))

void sul_svg_escape(struct sul_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sul_buf_adds(b, "&amp;"); break;
		case '<': sul_buf_adds(b, "&lt;"); break;
		case '>': sul_buf_adds(b, "&gt;"); break;
		case '"': sul_buf_adds(b, "&quot;"); break;
		case '\'': sul_buf_adds(b, "&#39;"); break;
		default: sul_buf_addc(b, *s);
		}
	}
}

void sul_svg_add_number(struct sul_buf *b, double v)
{
	double a = fabs(v);

	if (isnan(v))
		sul_buf_adds(b, "NaN");
	else if (isinf(v))
		sul_buf_adds(b, v < 0 ? "-inf" : "inf");
	else if (v == 0)
		sul_buf_addc(b, '0');
	else if (v == floor(v) && a < 1e15)
		sul_buf_addf(b, "%.0f", v);
	else if (a >= 1000)
		sul_buf_addf(b, "%.1f", v);
	else if (a >= 1e-3)
		sul_buf_addf(b, "%.4g", v);
	else
		sul_buf_addf(b, "%.2e", v);
}

/* Characters (UTF-8 code points) in s. */
static size_t nchars(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		if ((*s & 0xC0) != 0x80)
			n++;
	return n;
}

static double text_w(const char *s)
{
	size_t n = nchars(s);
	return (double)(n > LABEL_MAX ? LABEL_MAX : n) * CHAR_W;
}

/* Appends s escaped, cut to LABEL_MAX characters with an ellipsis. */
static void add_label(struct sul_buf *b, const char *s)
{
	size_t i, n = 0;
	char *cut;

	if (nchars(s) <= LABEL_MAX) {
		sul_svg_escape(b, s);
		return;
	}
	for (i = 0; s[i]; i++)
		if ((s[i] & 0xC0) != 0x80 && n++ == LABEL_MAX - 1)
			break;
	cut = sul_xstrndup(s, i);
	sul_svg_escape(b, cut);
	sul_buf_adds(b, "\xe2\x80\xa6");   /* U+2026 */
	free(cut);
}

/* --- axes ------------------------------------------------------------------ */

struct axis {
	double lo, hi, step;
	int decimals;
};

/* A step of 1, 2 or 5 times a power of ten giving about n intervals. */
static double nice_step(double range, int n)
{
	double raw = range / n, mag = pow(10, floor(log10(raw))), f = raw / mag;

	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* The axis over [lo, hi] with the given step. */
static void axis_fit_step(struct axis *a, double lo, double hi, double step)
{
	a->step = step;
	a->lo = floor(lo / step + 1e-9) * step;
	a->hi = ceil(hi / step - 1e-9) * step;
	if (a->hi <= a->lo)
		a->hi = a->lo + step;
	a->decimals = step >= 1 ? 0 : (int)-floor(log10(step) + 1e-9);
}

/* An axis over [lo, hi] (not finite: [0, 1]) rounded out to whole steps. */
static void axis_fit(struct axis *a, double lo, double hi, int n)
{
	if (!isfinite(lo) || !isfinite(hi) || lo > hi) {
		lo = 0;
		hi = 1;
	}
	if (lo == hi) {
		double d = lo == 0 ? 1 : fabs(lo) * 0.1;
		lo -= lo == 0 ? 0 : d;
		hi += d;
	}
	axis_fit_step(a, lo, hi, nice_step(hi - lo, n));
}

/* Maps v on the axis to a pixel between p0 (lo) and p1 (hi). */
static double axis_pos(const struct axis *a, double v, double p0, double p1)
{
	return p0 + (v - a->lo) / (a->hi - a->lo) * (p1 - p0);
}

static int axis_nticks(const struct axis *a)
{
	return (int)floor((a->hi - a->lo) / a->step + 0.5) + 1;
}

static double axis_tick(const struct axis *a, int k)
{
	double v = a->lo + k * a->step;
	return fabs(v) < a->step * 1e-9 ? 0 : v;
}

static void tick_text(char *buf, size_t n, const struct axis *a, double v)
{
	snprintf(buf, n, "%.*f", a->decimals, v);
}

/* The widest tick label of a, in pixels. */
static double ticks_w(const struct axis *a)
{
	char t[64];
	double w = 0;
	int k;

	for (k = 0; k < axis_nticks(a); k++) {
		tick_text(t, sizeof(t), a, axis_tick(a, k));
		if (strlen(t) * CHAR_W > w)
			w = (double)strlen(t) * CHAR_W;
	}
	return w;
}

/* Horizontal grid lines and tick labels of a y axis between the pixel
 * rows ybot (lo) and ytop (hi), across [x0, x1]. */
static void draw_y_axis(struct sul_buf *b, const struct axis *a, double x0, double x1, double ybot, double ytop)
{
	char t[64];
	int k;

	sul_buf_adds(b, "<g class=\"y-axis\">");
	for (k = 0; k < axis_nticks(a); k++) {
		double v = axis_tick(a, k), y = axis_pos(a, v, ybot, ytop);
		tick_text(t, sizeof(t), a, v);
		sul_buf_addf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e3e3e3\"/>", x0, y, x1, y);
		sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" fill=\"#444\">%s</text>", x0 - 6, y + 4, t);
	}
	sul_buf_addf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#888\"/>", x0, ybot, x0, ytop);
	sul_buf_adds(b, "</g>");
}

/* Tick marks and labels of a numeric x axis along the pixel row y. */
static void draw_x_axis(struct sul_buf *b, const struct axis *a, double x0, double x1, double y, double ytop)
{
	char t[64];
	int k;

	sul_buf_adds(b, "<g class=\"x-axis\">");
	for (k = 0; k < axis_nticks(a); k++) {
		double v = axis_tick(a, k), x = axis_pos(a, v, x0, x1);
		tick_text(t, sizeof(t), a, v);
		sul_buf_addf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#f0f0f0\"/>", x, ytop, x, y);
		sul_buf_addf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#888\"/>", x, y, x, y + 4);
		sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"#444\">%s</text>", x, y + 16, t);
	}
	sul_buf_addf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#888\"/>", x0, y, x1, y);
	sul_buf_adds(b, "</g>");
}

/* Axis titles: x centred under [x0, x1] at row y; y turned up the left
 * edge, centred on [ytop, ybot]. */
static void draw_titles(struct sul_buf *b, const char *xl, const char *yl, double x0, double x1, double y,
			double ytop, double ybot)
{
	if (xl && *xl) {
		sul_buf_addf(b, "<text class=\"x-title\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"#222\">",
			     (x0 + x1) / 2, y);
		sul_svg_escape(b, xl);
		sul_buf_adds(b, "</text>");
	}
	if (yl && *yl) {
		sul_buf_addf(b, "<text class=\"y-title\" transform=\"translate(14,%.2f) rotate(-90)\" "
			     "text-anchor=\"middle\" fill=\"#222\">", (ytop + ybot) / 2);
		sul_svg_escape(b, yl);
		sul_buf_adds(b, "</text>");
	}
}

static double legend_w(const char *const *names, size_t n)
{
	double w = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (text_w(names[i]) > w)
			w = text_w(names[i]);
	return n ? w + 24 : 0;
}

/* One row per name at (x, y): a swatch of its palette color and the name. */
static void draw_legend(struct sul_buf *b, const char *const *names, size_t n, double x, double y)
{
	size_t i;

	if (!n)
		return;
	sul_buf_adds(b, "<g class=\"legend\">");
	for (i = 0; i < n; i++) {
		double yy = y + (double)i * 18;
		sul_buf_addf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, yy,
			     palette[i % NCOLORS]);
		sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" fill=\"#222\">", x + 18, yy + 10);
		add_label(b, names[i]);
		sul_buf_adds(b, "</text>");
	}
	sul_buf_adds(b, "</g>");
}

static void svg_open(struct sul_buf *b, double w, double h, const char *what)
{
	sul_buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%.0f\" height=\"%.0f\" "
		     "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", ceil(w), ceil(h), ceil(w), ceil(h));
	sul_svg_escape(b, what);
	sul_buf_adds(b, "\" " FONT ">");
}

/* --- bars ------------------------------------------------------------------ */

void sul_svg_bars(struct sul_buf *b, const struct sul_svg_bars *c)
{
	const double ph = 220, mt = 12;
	double vmin = 0, vmax = 0, gw, pw, ml, mr, mb, w, h, maxlab = 0, y0;
	struct axis ay;
	size_t i, j;
	int rot;

	for (i = 0; i < c->ncats * c->nseries; i++)
		if (isfinite(c->values[i])) {
			vmin = fmin(vmin, c->values[i]);
			vmax = fmax(vmax, c->values[i]);
		}
	axis_fit(&ay, vmin, vmax, 5);

	gw = fmax(48, (double)c->nseries * 16 + 24);
	pw = (double)c->ncats * gw;
	if (pw < 240 || pw > 760) {
		pw = pw < 240 ? 240 : 760;
		gw = c->ncats ? pw / (double)c->ncats : pw;
	}
	for (i = 0; i < c->ncats; i++)
		maxlab = fmax(maxlab, text_w(c->cats[i]));
	rot = maxlab > gw - 6;
	ml = 10 + ticks_w(&ay) + 8 + (c->y_label ? 22 : 0);
	mr = legend_w(c->series, c->nseries) + 20;
	mb = 22 + (rot ? maxlab * 0.6 + 4 : 0) + (c->x_label ? 22 : 4);
	w = ml + pw + mr;
	h = fmax(mt + ph + mb, mt + (double)c->nseries * 18 + 8);

	svg_open(b, w, h, c->y_label ? c->y_label : "bar chart");
	draw_y_axis(b, &ay, ml, ml + pw, mt + ph, mt);
	y0 = axis_pos(&ay, 0, mt + ph, mt);
	sul_buf_adds(b, "<g class=\"bars\">");
	for (i = 0; i < c->ncats; i++) {
		double bw = gw * 0.8 / (double)(c->nseries ? c->nseries : 1);
		for (j = 0; j < c->nseries; j++) {
			double v = c->values[i * c->nseries + j], top, bot;
			if (!isfinite(v))
				continue;
			top = axis_pos(&ay, fmax(v, 0), mt + ph, mt);
			bot = axis_pos(&ay, fmin(v, 0), mt + ph, mt);
			sul_buf_addf(b, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">",
				     ml + (double)i * gw + gw * 0.1 + (double)j * bw, top, bw, bot - top,
				     palette[j % NCOLORS]);
			sul_buf_adds(b, "<title>");
			sul_svg_escape(b, c->cats[i]);
			sul_buf_adds(b, ", ");
			sul_svg_escape(b, c->series[j]);
			sul_buf_adds(b, ": ");
			sul_svg_add_number(b, v);
			sul_buf_adds(b, "</title></rect>");
		}
	}
	sul_buf_adds(b, "</g>");
	sul_buf_addf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#888\"/>", ml, y0, ml + pw, y0);
	sul_buf_adds(b, "<g class=\"categories\">");
	for (i = 0; i < c->ncats; i++) {
		double x = ml + ((double)i + 0.5) * gw, y = mt + ph + 16;
		if (rot)
			sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" fill=\"#444\" "
				     "transform=\"rotate(-35 %.2f %.2f)\">", x + 4, y, x + 4, y);
		else
			sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"#444\">", x, y);
		add_label(b, c->cats[i]);
		sul_buf_adds(b, "</text>");
	}
	sul_buf_adds(b, "</g>");
	draw_titles(b, c->x_label, c->y_label, ml, ml + pw, h - 8, mt, mt + ph);
	draw_legend(b, c->series, c->nseries, ml + pw + 16, mt);
	sul_buf_adds(b, "</svg>");
}

/* --- lines ----------------------------------------------------------------- */

void sul_svg_lines(struct sul_buf *b, const struct sul_svg_lines *c)
{
	const double pw = 360, ph = 220, mt = 12;
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY, ml, mr, mb, w, h;
	const char **names = sul_xcalloc(c->nlines + 1, sizeof(*names));
	struct axis ax, ay;
	size_t i, k;
	int whole_x = 1;

	for (i = 0; i < c->nlines; i++) {
		const struct sul_svg_line *l = &c->lines[i];
		names[i] = l->name;
		for (k = 0; k < l->n; k++) {
			if (!isfinite(l->x[k]) || !isfinite(l->y[k]))
				continue;
			whole_x &= l->x[k] == floor(l->x[k]);
			xmin = fmin(xmin, l->x[k]);
			xmax = fmax(xmax, l->x[k]);
			ymin = fmin(ymin, l->y[k]);
			ymax = fmax(ymax, l->y[k]);
		}
	}
	axis_fit(&ax, xmin, xmax, 6);
	/* Steps (epochs) are whole: no tick between them. */
	if (whole_x && isfinite(xmin) && ax.step < 1)
		axis_fit_step(&ax, xmin, xmax, 1);
	axis_fit(&ay, ymin, ymax, 5);
	ml = 10 + ticks_w(&ay) + 8 + (c->y_label ? 22 : 0);
	mr = legend_w(names, c->nlines) + 20;
	mb = 24 + (c->x_label ? 22 : 4);
	w = ml + pw + mr;
	h = fmax(mt + ph + mb, mt + (double)c->nlines * 18 + 8);

	svg_open(b, w, h, c->y_label ? c->y_label : "line chart");
	draw_y_axis(b, &ay, ml, ml + pw, mt + ph, mt);
	draw_x_axis(b, &ax, ml, ml + pw, mt + ph, mt);
	sul_buf_adds(b, "<g class=\"lines\">");
	for (i = 0; i < c->nlines; i++) {
		const struct sul_svg_line *l = &c->lines[i];
		const char *color = palette[i % NCOLORS];
		size_t shown = 0;
		sul_buf_addf(b, "<polyline class=\"line\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
		for (k = 0; k < l->n; k++) {
			if (!isfinite(l->x[k]) || !isfinite(l->y[k]))
				continue;
			sul_buf_addf(b, "%s%.2f,%.2f", shown++ ? " " : "", axis_pos(&ax, l->x[k], ml, ml + pw),
				     axis_pos(&ay, l->y[k], mt + ph, mt));
		}
		sul_buf_adds(b, "\"><title>");
		sul_svg_escape(b, l->name);
		sul_buf_adds(b, "</title></polyline>");
		if (shown > 60)
			continue;
		/* Points, with their values as tooltips, where they can be told apart. */
		for (k = 0; k < l->n; k++) {
			if (!isfinite(l->x[k]) || !isfinite(l->y[k]))
				continue;
			sul_buf_addf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"><title>",
				     axis_pos(&ax, l->x[k], ml, ml + pw), axis_pos(&ay, l->y[k], mt + ph, mt), color);
			sul_svg_escape(b, l->name);
			sul_buf_adds(b, " (");
			sul_svg_add_number(b, l->x[k]);
			sul_buf_adds(b, ", ");
			sul_svg_add_number(b, l->y[k]);
			sul_buf_adds(b, ")</title></circle>");
		}
	}
	sul_buf_adds(b, "</g>");
	draw_titles(b, c->x_label, c->y_label, ml, ml + pw, h - 8, mt, mt + ph);
	draw_legend(b, names, c->nlines, ml + pw + 16, mt);
	sul_buf_adds(b, "</svg>");
	free(names);
}

/* --- matrix ---------------------------------------------------------------- */

/* White through mid blue to dark blue (ColorBrewer Blues) at t in [0, 1]. */
static void blues(double t, int rgb[3])
{
	static const int stops[3][3] = { { 247, 251, 255 }, { 107, 174, 214 }, { 8, 48, 107 } };
	int s = t < 0.5 ? 0 : 1, k;
	double f = t < 0.5 ? t * 2 : (t - 0.5) * 2;

	for (k = 0; k < 3; k++)
		rgb[k] = (int)lround(stops[s][k] + f * (stops[s + 1][k] - stops[s][k]));
}

void sul_svg_matrix(struct sul_buf *b, const struct sul_svg_matrix *c)
{
	size_t n = c->nrows > c->ncols ? c->nrows : c->ncols, r, k;
	double cell = fmin(56, fmax(28, 360.0 / (double)(n ? n : 1)));
	double vmin = 0, vmax = 0, roww = 0, colw = 0, colh, ml, mt, w, h;
	int rot;

	for (r = 0; r < c->nrows * c->ncols; r++)
		if (isfinite(c->values[r])) {
			vmin = fmin(vmin, c->values[r]);
			vmax = fmax(vmax, c->values[r]);
		}
	for (r = 0; r < c->nrows; r++)
		roww = fmax(roww, text_w(c->rows[r]));
	for (k = 0; k < c->ncols; k++)
		colw = fmax(colw, text_w(c->cols[k]));
	rot = colw > cell - 4;
	colh = rot ? colw * 0.72 + 10 : 20;
	ml = (c->row_label ? 24 : 4) + roww + 8;
	mt = (c->col_label ? 22 : 4) + colh;
	w = ml + (double)c->ncols * cell + 12 + (rot ? colw * 0.72 : 0);
	h = mt + (double)c->nrows * cell + 12;

	svg_open(b, w, h, "matrix");
	sul_buf_adds(b, "<g class=\"cells\">");
	for (r = 0; r < c->nrows; r++)
		for (k = 0; k < c->ncols; k++) {
			double v = c->values[r * c->ncols + k], x = ml + (double)k * cell, y = mt + (double)r * cell, t;
			int rgb[3];
			if (!isfinite(v)) {
				sul_buf_addf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#fff\" "
					     "stroke=\"#ddd\"/>", x, y, cell, cell);
				continue;
			}
			t = vmax > vmin ? (v - vmin) / (vmax - vmin) : 0;
			blues(t, rgb);
			sul_buf_addf(b, "<rect class=\"cell\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
				     "fill=\"#%02x%02x%02x\" stroke=\"#fff\"><title>", x, y, cell, cell, rgb[0], rgb[1], rgb[2]);
			sul_svg_escape(b, c->rows[r]);
			sul_buf_adds(b, " / ");
			sul_svg_escape(b, c->cols[k]);
			sul_buf_adds(b, ": ");
			sul_svg_add_number(b, v);
			sul_buf_addf(b, "</title></rect><text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
				     "font-size=\"%d\" fill=\"%s\">", x + cell / 2, y + cell / 2 + 4, cell >= 40 ? 12 : 10,
				     t > 0.55 ? "#fff" : "#222");
			sul_svg_add_number(b, v);
			sul_buf_adds(b, "</text>");
		}
	sul_buf_adds(b, "</g><g class=\"labels\">");
	for (r = 0; r < c->nrows; r++) {
		sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" fill=\"#444\">", ml - 6,
			     mt + ((double)r + 0.5) * cell + 4);
		add_label(b, c->rows[r]);
		sul_buf_adds(b, "</text>");
	}
	for (k = 0; k < c->ncols; k++) {
		double x = ml + ((double)k + 0.5) * cell, y = mt - 6;
		if (rot)
			sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" fill=\"#444\" transform=\"rotate(-45 %.2f %.2f)\">",
				     x, y, x, y);
		else
			sul_buf_addf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"#444\">", x, y);
		add_label(b, c->cols[k]);
		sul_buf_adds(b, "</text>");
	}
	sul_buf_adds(b, "</g>");
	if (c->col_label && *c->col_label) {
		sul_buf_addf(b, "<text class=\"x-title\" x=\"%.2f\" y=\"14\" text-anchor=\"middle\" fill=\"#222\">",
			     ml + (double)c->ncols * cell / 2);
		sul_svg_escape(b, c->col_label);
		sul_buf_adds(b, "</text>");
	}
	if (c->row_label && *c->row_label) {
		sul_buf_addf(b, "<text class=\"y-title\" transform=\"translate(14,%.2f) rotate(-90)\" "
			     "text-anchor=\"middle\" fill=\"#222\">", mt + (double)c->nrows * cell / 2);
		sul_svg_escape(b, c->row_label);
		sul_buf_adds(b, "</text>");
	}
	sul_buf_adds(b, "</svg>");
}

/* --- graph ----------------------------------------------------------------- */

void sul_svg_graph(struct sul_buf *b, const struct sul_svg_graph *g)
{
	const double bh = 34, gapx = 48, gapy = 14, pad = 8;
	size_t *col = sul_xcalloc(g->n + 1, sizeof(*col)), *row = sul_xcalloc(g->n + 1, sizeof(*row));
	size_t *height = sul_xcalloc(g->n + 1, sizeof(*height)), ncols = 0, maxrows = 0, i, j, k;
	double bw = 60, w, h;

	/* Columns by longest path, in topological order; rows by given order. */
	for (k = 0; k < g->n; k++) {
		i = g->order[k];
		for (j = 0; j < g->ninputs[i]; j++)
			if (col[g->inputs[i][j]] + 1 > col[i])
				col[i] = col[g->inputs[i][j]] + 1;
		if (col[i] + 1 > ncols)
			ncols = col[i] + 1;
	}
	for (i = 0; i < g->n; i++) {
		row[i] = height[col[i]]++;
		if (height[col[i]] > maxrows)
			maxrows = height[col[i]];
		bw = fmax(bw, fmax(text_w(g->names[i]), text_w(g->notes[i])) + 16);
	}
	w = 2 * pad + (double)ncols * bw + (double)(ncols ? ncols - 1 : 0) * gapx;
	h = 2 * pad + (double)maxrows * bh + (double)(maxrows ? maxrows - 1 : 0) * gapy;
	svg_open(b, w, h, "stage graph");
	sul_buf_adds(b, "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" "
			"markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#666\"/></marker></defs>"
			"<g class=\"edges\" stroke=\"#666\" fill=\"none\">");
	for (i = 0; i < g->n; i++)
		for (j = 0; j < g->ninputs[i]; j++) {
			size_t s = g->inputs[i][j];
			sul_buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" marker-end=\"url(#arrow)\"/>",
				     pad + (double)col[s] * (bw + gapx) + bw, pad + (double)row[s] * (bh + gapy) + bh / 2,
				     pad + (double)col[i] * (bw + gapx), pad + (double)row[i] * (bh + gapy) + bh / 2);
		}
	sul_buf_adds(b, "</g><g class=\"nodes\">");
	for (i = 0; i < g->n; i++) {
		double x = pad + (double)col[i] * (bw + gapx), y = pad + (double)row[i] * (bh + gapy);
		sul_buf_addf(b, "<g><title>");
		sul_svg_escape(b, g->names[i]);
		sul_buf_addf(b, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" "
			     "fill=\"#f4f6fa\" stroke=\"#345\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
			     x, y, bw, bh, x + bw / 2, y + 14);
		add_label(b, g->names[i]);
		sul_buf_addf(b, "</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#667\">", x + bw / 2,
			     y + 28);
		add_label(b, g->notes[i]);
		sul_buf_adds(b, "</text></g>");
	}
	sul_buf_adds(b, "</g></svg>\n");
	free(col);
	free(row);
	free(height);
}
