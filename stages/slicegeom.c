/*
 * slicegeom.c - the slice layout of `slices` PNGs (see slicegeom.h).
 *
 * The PNG bytes of the `slices` kind depend on every expression here,
 * evaluation order included (the same inputs give the same bytes, across
 * versions too, unless the kind's version says otherwise): change them
 * only with a version bump.
 */
#include "slicegeom.h"

#include <assert.h>
#include <math.h>
#include <string.h>

int sul_slicegeom_init(const struct sul_volume *v, const char *path, int64_t size, struct sul_slicegeom *g,
		       struct sul_err *err)
{
	const double (*m)[4] = (const double (*)[4])v->ijk_to_xyz;
	double kz = fabs(m[2][2]);
	int row_axis;

	assert(size >= 1);
	memset(g, 0, sizeof(*g));
	if (!(kz > fabs(m[0][2]) && kz > fabs(m[1][2])))
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': the third voxel axis runs along (%g, %g, %g) mm: expected "
				   "axially stored images (k inferior-superior); reorient them first", path, m[0][2],
				   m[1][2], m[2][2]);
	g->nx = v->nx;
	g->ny = v->ny;
	g->size = size;
	g->col_axis = fabs(m[0][0]) >= fabs(m[0][1]) ? 0 : 1;
	row_axis = 1 - g->col_axis;
	/* Radiological: x (towards the subject's right) decreases along the
	 * columns; anterior at the top: y decreases down the rows. */
	g->flip_col = m[0][g->col_axis] > 0;
	g->flip_row = m[1][row_axis] > 0;
	g->w = g->col_axis == 0 ? v->nx : v->ny;
	g->h = g->col_axis == 0 ? v->ny : v->nx;
	g->side = g->w > g->h ? g->w : g->h;
	g->off_c = (g->side - g->w) / 2;
	g->off_r = (g->side - g->h) / 2;
	return 0;
}

void sul_slicegeom_plane(const struct sul_slicegeom *g, const struct sul_volume *v, int64_t k, float *plane)
{
	int64_t r, c;

	assert(v->nx == g->nx && v->ny == g->ny && k >= 0 && k < v->nz);
	memset(plane, 0, (size_t)(g->side * g->side) * sizeof(*plane));
	for (r = 0; r < g->h; r++)
		for (c = 0; c < g->w; c++) {
			int64_t a = g->flip_col ? g->w - 1 - c : c, b = g->flip_row ? g->h - 1 - r : r;
			int64_t i = g->col_axis == 0 ? a : b, j = g->col_axis == 0 ? b : a;
			plane[(r + g->off_r) * g->side + c + g->off_c] = v->data[i + v->nx * (j + v->ny * k)];
		}
}

/* Where PNG pixel d samples the plane, clamped: between plane pixels a and
 * b (= a + 1, or a at the last one), f of the way to b. */
struct tap {
	int64_t a, b;
	double f;
	double s;
};

static struct tap tap_of(const struct sul_slicegeom *g, int64_t d)
{
	struct tap t;
	double s = ((double)d + 0.5) * (double)g->side / (double)g->size - 0.5;

	if (s < 0)
		s = 0;
	if (s > (double)(g->side - 1))
		s = (double)(g->side - 1);
	t.s = s;
	t.a = (int64_t)floor(s);
	t.b = t.a + 1 < g->side ? t.a + 1 : t.a;
	t.f = s - (double)t.a;
	return t;
}

void sul_slicegeom_bilinear(const struct sul_slicegeom *g, const float *plane, double *out)
{
	int64_t r, c, side = g->side;

	for (r = 0; r < g->size; r++) {
		struct tap tr = tap_of(g, r);
		for (c = 0; c < g->size; c++) {
			struct tap tc = tap_of(g, c);
			double top = plane[tr.a * side + tc.a] * (1 - tc.f) + plane[tr.a * side + tc.b] * tc.f;
			double bot = plane[tr.b * side + tc.a] * (1 - tc.f) + plane[tr.b * side + tc.b] * tc.f;
			out[r * g->size + c] = top * (1 - tr.f) + bot * tr.f;
		}
	}
}

/* The nearest plane pixel to a clamped tap; halves round up. */
static int64_t nearest_of(const struct sul_slicegeom *g, struct tap t)
{
	int64_t n = (int64_t)floor(t.s + 0.5);
	return n < g->side ? n : g->side - 1;
}

void sul_slicegeom_nearest(const struct sul_slicegeom *g, const float *plane, float *out)
{
	int64_t r, c;

	for (r = 0; r < g->size; r++) {
		int64_t pr = nearest_of(g, tap_of(g, r));
		for (c = 0; c < g->size; c++)
			out[r * g->size + c] = plane[pr * g->side + nearest_of(g, tap_of(g, c))];
	}
}

/* Plane coordinate p <-> PNG coordinate d: s = (d + 0.5) side / size - 0.5. */
static double plane_to_png(const struct sul_slicegeom *g, double p)
{
	return (p + 0.5) * (double)g->size / (double)g->side - 0.5;
}

static double png_to_plane(const struct sul_slicegeom *g, double d)
{
	return (d + 0.5) * (double)g->side / (double)g->size - 0.5;
}

void sul_slicegeom_voxel_pixel(const struct sul_slicegeom *g, int64_t i, int64_t j, double *row, double *col)
{
	int64_t a = g->col_axis == 0 ? i : j, b = g->col_axis == 0 ? j : i;
	int64_t c = g->flip_col ? g->w - 1 - a : a, r = g->flip_row ? g->h - 1 - b : b;

	*row = plane_to_png(g, (double)(r + g->off_r));
	*col = plane_to_png(g, (double)(c + g->off_c));
}

void sul_slicegeom_pixel_voxel(const struct sul_slicegeom *g, double row, double col, double *i, double *j)
{
	double c = png_to_plane(g, col) - (double)g->off_c, r = png_to_plane(g, row) - (double)g->off_r;
	double a = g->flip_col ? (double)(g->w - 1) - c : c, b = g->flip_row ? (double)(g->h - 1) - r : r;

	*i = g->col_axis == 0 ? a : b;
	*j = g->col_axis == 0 ? b : a;
}
