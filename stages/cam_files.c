/*
 * cam_files.c - the heatmaps of the `cam` kind as files:
 * overlays/<method>/<group>/<subject>_zNNN_<target>.png (a color map over
 * one channel of the slice) and volumes/<method>/<subject>_<target>.nii.gz
 * and _raw.nii.gz (every heatmap of a subject back on its reference grid,
 * the `ref` volume of the slices stage; dropped slices zero, the geometry
 * of the reference kept).  Tables are in cam_stats.c.
 */
#include "cam_int.h"
#include "../engine/fsutil.h"
#include "pngio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Jet-like color map (blue -> cyan -> yellow -> red) of v in [0, 1]. */
static void colormap(double v, double rgb[3])
{
	double r = 1.5 - fabs(4 * v - 3), g = 1.5 - fabs(4 * v - 2), b = 1.5 - fabs(4 * v - 1);
	rgb[0] = r < 0 ? 0 : r > 1 ? 1 : r;
	rgb[1] = g < 0 ? 0 : g > 1 ? 1 : g;
	rgb[2] = b < 0 ? 0 : b > 1 ? 1 : b;
}

/* A pixel of a slice brighter than this in some channel is on the head. */
#define OVERLAY_HEAD_MIN 4

int sul_cam_write_overlay(const struct cam_run *run, size_t row, int method, const char *target, const float *heat,
			  struct sul_err *err)
{
	const struct sul_slice *s = &run->slices.rows[row];
	const size_t plane = (size_t)run->size * run->size;
	const uint8_t *px = run->slices.pixels + row * plane * 3;
	uint8_t *rgb = sul_xmalloc(plane * 3);
	char *dir = sul_xasprintf("%s/overlays/%s/%s", run->ctx->out, sul_cam_method_names[method], s->group);
	char *path = sul_xasprintf("%s/%s_z%03d_%s.png", dir, s->subject, s->slice, target);
	size_t i;
	int r;

	for (i = 0; i < plane; i++) {
		double c[3], g = px[i * 3 + run->overlay];
		/* Heat is shown on the head only: the slices are black outside it,
		 * where a tint (jet's dark blue) would only hide the outline. */
		int ch, head = px[i * 3] > OVERLAY_HEAD_MIN || px[i * 3 + 1] > OVERLAY_HEAD_MIN
			       || px[i * 3 + 2] > OVERLAY_HEAD_MIN;
		colormap(heat[i], c);
		for (ch = 0; ch < 3; ch++)
			rgb[i * 3 + ch] = head ? (uint8_t)lrint((1 - run->alpha) * g + run->alpha * 255 * c[ch]) : (uint8_t)g;
	}
	r = sul_mkdirs(dir, err) || sul_png_write_rgb(path, rgb, (uint32_t)run->size, (uint32_t)run->size, err);
	free(rgb);
	free(dir);
	free(path);
	return r ? -1 : 0;
}

int sul_cam_volumes_init(const struct cam_run *run, size_t row, int ntarget, struct cam_volumes *vols,
			 struct sul_err *err)
{
	const struct sul_slice *s = &run->slices.rows[row];
	const size_t nvol = (size_t)NMETHODS * ntarget;
	size_t v;

	memset(vols, 0, sizeof(*vols));
	vols->ntarget = ntarget;
	if (!s->ref)
		return 0;
	if (sul_volume_read(s->ref, &vols->ref, err) || sul_slicegeom_init(&vols->ref, s->ref, run->size, &vols->geom, err))
		return -1;
	vols->have_ref = 1;
	vols->norm = sul_xcalloc(nvol, sizeof(*vols->norm));
	vols->raw = sul_xcalloc(nvol, sizeof(*vols->raw));
	for (v = 0; v < nvol; v++) {
		sul_volume_like(&vols->norm[v], &vols->ref);
		sul_volume_like(&vols->raw[v], &vols->ref);
	}
	return 0;
}

/* Writes a heatmap slice into volume k of vol at the reference geometry. */
static void to_volume(const struct sul_slicegeom *g, const float *heat, int size, int64_t k, struct sul_volume *vol)
{
	int64_t i, j;

	for (j = 0; j < vol->ny; j++)
		for (i = 0; i < vol->nx; i++) {
			double r, c;
			int r0, c0;
			double fr, fc, v = 0;
			sul_slicegeom_voxel_pixel(g, i, j, &r, &c);
			if (r < -0.5 || c < -0.5 || r > size - 0.5 || c > size - 0.5)
				continue;
			if (r < 0)
				r = 0;
			if (c < 0)
				c = 0;
			if (r > size - 1)
				r = size - 1;
			if (c > size - 1)
				c = size - 1;
			r0 = (int)floor(r), c0 = (int)floor(c);
			fr = r - r0, fc = c - c0;
			{
				int r1 = r0 + 1 < size ? r0 + 1 : r0, c1 = c0 + 1 < size ? c0 + 1 : c0;
				v = (1 - fr) * ((1 - fc) * heat[r0 * size + c0] + fc * heat[r0 * size + c1])
				    + fr * ((1 - fc) * heat[r1 * size + c0] + fc * heat[r1 * size + c1]);
			}
			vol->data[i + vol->nx * (j + vol->ny * k)] = (float)v;
		}
}

void sul_cam_volumes_add(struct cam_volumes *vols, int m, int t, int size, int64_t slice, const float *norm,
			 const float *raw)
{
	const size_t slot = (size_t)m * vols->ntarget + (size_t)t;

	if (!vols->have_ref)
		return;
	to_volume(&vols->geom, norm, size, slice, &vols->norm[slot]);
	to_volume(&vols->geom, raw, size, slice, &vols->raw[slot]);
}

int sul_cam_volumes_write(const struct cam_run *run, const struct cam_volumes *vols, const char *subject,
			  struct sul_err *err)
{
	int m, t;

	if (!vols->have_ref)
		return 0;
	for (m = 0; m < NMETHODS; m++)
		for (t = 0; t < vols->ntarget; t++) {
			const size_t slot = (size_t)m * vols->ntarget + (size_t)t;
			const char *tn = sul_cam_target_name(run, t);
			char *dir, *p1, *p2;
			int r;
			if (!run->use[m] || (m == M_CAM && !run->cam_ok))
				continue;
			dir = sul_xasprintf("%s/volumes/%s", run->ctx->out, sul_cam_method_names[m]);
			p1 = sul_xasprintf("%s/%s_%s.nii.gz", dir, subject, tn);
			p2 = sul_xasprintf("%s/%s_%s_raw.nii.gz", dir, subject, tn);
			r = sul_mkdirs(dir, err) || sul_volume_write(p1, &vols->norm[slot], SUL_VOL_FLOAT32, err)
			    || sul_volume_write(p2, &vols->raw[slot], SUL_VOL_FLOAT32, err);
			free(dir);
			free(p1);
			free(p2);
			if (r)
				return -1;
		}
	return 0;
}

void sul_cam_volumes_release(struct cam_volumes *vols)
{
	const size_t nvol = (size_t)NMETHODS * vols->ntarget;
	size_t v;

	if (vols->norm)
		for (v = 0; v < nvol; v++) {
			sul_volume_release(&vols->norm[v]);
			sul_volume_release(&vols->raw[v]);
		}
	free(vols->norm);
	free(vols->raw);
	sul_volume_release(&vols->ref);
	memset(vols, 0, sizeof(*vols));
}
