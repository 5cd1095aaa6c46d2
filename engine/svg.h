/*
 * svg.h - charts drawn as inline SVG for the HTML report (report.h):
 * grouped bars, lines and colored matrices, plus the text escaping and
 * number formatting the report shares with them.
 *
 * A chart is drawn from arrays the caller owns and appended to a buffer as
 * one <svg> element; its size is in its width and height attributes.  Every
 * piece of text goes through sul_svg_escape.  This module does not know where
 * the numbers come from (no SQL here) nor what they mean, and it draws no
 * page around the chart.
 */
#ifndef SUL_SVG_H
#define SUL_SVG_H

#include <stddef.h>

#include "strbuf.h"

/* Appends s with &, <, >, " and ' escaped: safe in HTML and XML text and
 * in quoted attributes. */
void sul_svg_escape(struct sul_buf *b, const char *s);

/* Appends v for people to read: integers without decimals, at most four
 * significant digits otherwise, scientific notation for tiny magnitudes
 * (p-values); "NaN" and "inf" as such. */
void sul_svg_add_number(struct sul_buf *b, double v);

/* Grouped bars: one group per category along x, one bar per series in
 * each, colored by series, with a legend.  values[c * nseries + s] is the
 * bar of category c and series s; NAN draws no bar.  The y axis always
 * includes 0, so bar heights are proportional to the values.  Each bar is a
 * <rect class="bar"> with a <title> (its tooltip). */
struct sul_svg_bars {
	const char *x_label, *y_label;   /* axis titles; NULL: none */
	const char *const *cats;
	size_t ncats;
	const char *const *series;
	size_t nseries;
	const double *values;
};
void sul_svg_bars(struct sul_buf *b, const struct sul_svg_bars *c);

/* Lines: one polyline per series through its points in the given order
 * (points with a NAN coordinate are left out), axes with ticks, a legend. */
struct sul_svg_line {
	const char *name;
	const double *x, *y;
	size_t n;
};
struct sul_svg_lines {
	const char *x_label, *y_label;
	const struct sul_svg_line *lines;
	size_t nlines;
};
void sul_svg_lines(struct sul_buf *b, const struct sul_svg_lines *c);

/* A matrix of cells colored by value (white to dark blue over the range of
 * its values, 0 included), each labelled with its value; rows down the
 * left, columns across the top.  values[r * ncols + c]; NAN: an empty cell. */
struct sul_svg_matrix {
	const char *row_label, *col_label;
	const char *const *rows;
	size_t nrows;
	const char *const *cols;
	size_t ncols;
	const double *values;
};
void sul_svg_matrix(struct sul_buf *b, const struct sul_svg_matrix *c);

/* A directed acyclic graph drawn left to right: each node in the column of
 * its longest path from a node without inputs, in the given order within
 * its column, as a box with two lines (name, note); an arrow per input.
 * order lists the nodes inputs first (dag.h's topological order). */
struct sul_svg_graph {
	size_t n;
	const char *const *names, *const *notes;
	const size_t *const *inputs;   /* inputs[i][0..ninputs[i]): node indexes */
	const size_t *ninputs;
	const size_t *order;
};
void sul_svg_graph(struct sul_buf *b, const struct sul_svg_graph *g);

#endif
