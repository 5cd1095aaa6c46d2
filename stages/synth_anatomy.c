/*
 * synth_anatomy.c - the anatomy the `synth` kind builds once per run from
 * the Colin27 templates (see synth.c): tissue classes by k-means of the
 * brain's T1 intensities, lobes from AAL spread into the white matter,
 * ventricles, distance maps, candidate lesion centres, and T2 and FLAIR
 * contrasts.  It simulates no subject and writes nothing.
 */
#include "synth_int.h"
#include "../engine/fsutil.h"
#include "../engine/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The six face neighbours of a voxel. */
static const int neighbours[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };

/* Multi-source breadth-first city-block distance within allowed voxels. */
static void bfs_distance(const struct anatomy *a, const unsigned char *source, const unsigned char *allowed,
			 float *dist)
{
	int64_t n = a->nx * a->ny * a->nz, i, head = 0, tail = 0;
	int64_t *q = sul_xmalloc((size_t)n * sizeof(*q));

	for (i = 0; i < n; i++) {
		dist[i] = source[i] ? 0 : INFINITY;
		if (source[i])
			q[tail++] = i;
	}
	while (head < tail) {
		int64_t v = q[head++], x = v % a->nx, y = (v / a->nx) % a->ny, z = v / (a->nx * a->ny);
		int k;
		for (k = 0; k < 6; k++) {
			int64_t X = x + neighbours[k][0], Y = y + neighbours[k][1], Z = z + neighbours[k][2], w;
			if (X < 0 || Y < 0 || Z < 0 || X >= a->nx || Y >= a->ny || Z >= a->nz)
				continue;
			w = sul_synth_at(a, X, Y, Z);
			if (!allowed[w] || dist[w] <= dist[v] + 1)
				continue;
			dist[w] = dist[v] + 1;
			q[tail++] = w;
		}
	}
	free(q);
}

static int lobe_of_code(long code)
{
	switch (code / 1000) {
	case 2: return LOBE_FRONTAL;
	case 8: return LOBE_TEMPORAL;
	case 6: return LOBE_PARIETAL;
	case 5: return LOBE_OCCIPITAL;
	default: return LOBE_OTHER;
	}
}

/* aal.nii.txt: "INDEX NAME CODE" per line. */
static int read_aal_codes(const char *path, int *lobe_of_label, int max, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *line, *next;
	int lineno = 0;

	if (sul_read_file(path, &b, err))
		return -1;
	for (line = b.buf; *line; line = next) {
		long idx, code;
		char name[128];
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		if (sscanf(line, "%ld %127s %ld", &idx, name, &code) != 3 || idx < 0 || idx >= max) {
			if (line[strspn(line, " \r\t")] == '\0')
				continue;
			sul_buf_release(&b);
			return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: expected INDEX NAME CODE", path, lineno);
		}
		lobe_of_label[idx] = lobe_of_code(code);
	}
	sul_buf_release(&b);
	return 0;
}

/* The nearest of the three class centres c to v. */
static int nearest_class(double v, const double c[3])
{
	int k, best = 0;

	for (k = 1; k < 3; k++)
		if (fabs(v - c[k]) < fabs(v - c[best]))
			best = k;
	return best;
}

/*
 * Tissue classes: 3-means of the brain's (bet's nonzero voxels)
 * intensities, started at rough quantiles; the brain's centre; and the T1
 * scaled to white matter = 1.  bet_path names bet in the message.
 */
static int classify_tissue(struct anatomy *a, const struct sul_volume *bet, const char *bet_path,
			   struct sul_err *err)
{
	const int64_t n = a->nx * a->ny * a->nz;
	double c[3] = { 0, 90, 180 }, sums[3], cnt[3], mx = 0, wm_mean;
	int64_t i, nb = 0;
	int iter, k;

	for (i = 0; i < n; i++)
		if (bet->data[i] > 0)
			nb++;
	if (nb < 1000)
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': expected a brain image, found %lld brain voxels", bet_path,
				   (long long)nb);
	for (i = 0; i < n; i++)
		mx = fmax(mx, bet->data[i]);
	c[0] = 0.2 * mx;
	c[1] = 0.5 * mx;
	c[2] = 0.8 * mx;
	for (iter = 0; iter < 20; iter++) {
		memset(sums, 0, sizeof(sums));
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++) {
			double v = bet->data[i];
			int best;
			if (v <= 0)
				continue;
			best = nearest_class(v, c);
			sums[best] += v;
			cnt[best]++;
		}
		for (k = 0; k < 3; k++)
			if (cnt[k] > 0)
				c[k] = sums[k] / cnt[k];
	}
	for (i = 0; i < n; i++) {
		double v = bet->data[i];
		if (v <= 0)
			continue;
		a->tissue[i] = (unsigned char)(CSF + nearest_class(v, c));
		a->center[0] += (double)(i % a->nx);
		a->center[1] += (double)((i / a->nx) % a->ny);
		a->center[2] += (double)(i / (a->nx * a->ny));
	}
	for (k = 0; k < 3; k++)
		a->center[k] /= (double)nb;
	wm_mean = c[2];
	for (i = 0; i < n; i++)
		a->t1.data[i] = (float)(a->t1.data[i] / wm_mean);
	return 0;
}

/* Lobes: AAL labels grey matter only; spread them through the brain by
 * nearest label. */
static void assign_lobes(struct anatomy *a, const struct sul_volume *aal, const int *lobe_of_label)
{
	const int64_t n = a->nx * a->ny * a->nz;
	float *d = sul_xmalloc((size_t)n * sizeof(float));
	int64_t *q = sul_xmalloc((size_t)n * sizeof(*q)), head = 0, tail = 0, i;
	int k;

	for (i = 0; i < n; i++) {
		int label = (int)lrintf(aal->data[i]);
		d[i] = INFINITY;
		if (label > 0 && label < 1024 && a->tissue[i]) {
			a->lobe[i] = (unsigned char)lobe_of_label[label];
			d[i] = 0;
			q[tail++] = i;
		}
	}
	while (head < tail) {
		int64_t v = q[head++], x = v % a->nx, y = (v / a->nx) % a->ny, z = v / (a->nx * a->ny);
		for (k = 0; k < 6; k++) {
			int64_t X = x + neighbours[k][0], Y = y + neighbours[k][1], Z = z + neighbours[k][2], w;
			if (X < 0 || Y < 0 || Z < 0 || X >= a->nx || Y >= a->ny || Z >= a->nz)
				continue;
			w = sul_synth_at(a, X, Y, Z);
			if (!a->tissue[w] || d[w] <= d[v] + 1)
				continue;
			d[w] = d[v] + 1;
			a->lobe[w] = a->lobe[v];
			q[tail++] = w;
		}
	}
	for (i = 0; i < n; i++)
		if (a->tissue[i] && !a->lobe[i])
			a->lobe[i] = LOBE_OTHER;
	free(d);
	free(q);
}

/* Distances within the brain to the ventricles (CSF deep in the brain,
 * near its centre) and to grey matter. */
static void distance_maps(struct anatomy *a)
{
	const int64_t n = a->nx * a->ny * a->nz;
	unsigned char *src = sul_xcalloc((size_t)n, 1), *allowed = sul_xcalloc((size_t)n, 1);
	int64_t i;

	for (i = 0; i < n; i++) {
		double dx = (double)(i % a->nx) - a->center[0], dy = (double)((i / a->nx) % a->ny) - a->center[1],
		       dz = (double)(i / (a->nx * a->ny)) - a->center[2];
		src[i] = a->tissue[i] == CSF && dx * dx / (25.0 * 25) + dy * dy / (40.0 * 40) + dz * dz / (25.0 * 25) < 1;
		allowed[i] = a->tissue[i] != 0;
	}
	a->vent_dist = sul_xmalloc((size_t)n * sizeof(float));
	bfs_distance(a, src, allowed, a->vent_dist);
	for (i = 0; i < n; i++)
		src[i] = a->tissue[i] == GM;
	a->gm_dist = sul_xmalloc((size_t)n * sizeof(float));
	bfs_distance(a, src, allowed, a->gm_dist);
	free(src);
	free(allowed);
}

/* Candidate lesion centres in the white matter: anywhere, periventricular
 * and juxtacortical.  bet_path names the brain in the message. */
static int lesion_candidates(struct anatomy *a, const char *bet_path, struct sul_err *err)
{
	const int64_t n = a->nx * a->ny * a->nz;
	int64_t i;

	a->peri = sul_xmalloc((size_t)n * sizeof(int64_t));
	a->juxta = sul_xmalloc((size_t)n * sizeof(int64_t));
	a->wm = sul_xmalloc((size_t)n * sizeof(int64_t));
	for (i = 0; i < n; i++) {
		if (a->tissue[i] != WM)
			continue;
		a->wm[a->nwm++] = i;
		if (a->vent_dist[i] >= 2 && a->vent_dist[i] <= 6)
			a->peri[a->nperi++] = i;
		if (a->gm_dist[i] >= 1 && a->gm_dist[i] <= 3)
			a->juxta[a->njuxta++] = i;
	}
	if (!a->nperi || !a->njuxta)
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': no periventricular or juxtacortical white matter found",
				   bet_path);
	return 0;
}

/* T2 and FLAIR contrasts by tissue, modulated by the T1's own texture. */
static void contrasts(struct anatomy *a)
{
	static const float t2v[4] = { 0, 1.00f, 0.62f, 0.42f }, flv[4] = { 0, 0.10f, 0.62f, 0.45f };
	static const float t1v[4] = { 0, 0.25f, 0.68f, 1.0f };
	const int64_t n = a->nx * a->ny * a->nz;
	int64_t i;

	a->t2 = sul_xmalloc((size_t)n * sizeof(float));
	a->flair = sul_xmalloc((size_t)n * sizeof(float));
	for (i = 0; i < n; i++) {
		int t = a->tissue[i];
		float tex = t ? a->t1.data[i] / t1v[t] : 1;
		tex = tex < 0.7f ? 0.7f : tex > 1.3f ? 1.3f : tex;
		/* Scalp and skull: keep the T1's structure, dimmer. */
		a->t2[i] = t ? t2v[t] * (0.85f + 0.15f * tex) : 0.5f * a->t1.data[i];
		a->flair[i] = t ? flv[t] * (0.85f + 0.15f * tex) : 0.4f * a->t1.data[i];
	}
}

int sul_synth_anatomy_load(const char *dir, struct anatomy *a, struct sul_err *err)
{
	struct sul_volume bet, aal;
	char *p1 = sul_xasprintf("%s/ch2.nii.gz", dir), *p2 = sul_xasprintf("%s/ch2bet.nii.gz", dir);
	char *p3 = sul_xasprintf("%s/aal.nii.gz", dir), *p4 = sul_xasprintf("%s/aal.nii.txt", dir);
	int lobe_of_label[1024];
	int64_t n, i;
	int ret = -1;

	memset(a, 0, sizeof(*a));
	memset(&bet, 0, sizeof(bet));
	memset(&aal, 0, sizeof(aal));
	for (i = 0; i < 1024; i++)
		lobe_of_label[i] = LOBE_OTHER;
	if (sul_volume_read(p1, &a->t1, err) || sul_volume_read(p2, &bet, err) || sul_volume_read(p3, &aal, err)
	    || read_aal_codes(p4, lobe_of_label, 1024, err))
		goto out;
	if (bet.nx != a->t1.nx || bet.ny != a->t1.ny || bet.nz != a->t1.nz || aal.nx != a->t1.nx
	    || aal.ny != a->t1.ny || aal.nz != a->t1.nz) {
		sul_err_set(err, SUL_ERR_INPUT, "'%s', '%s' and '%s': expected one grid", p1, p2, p3);
		goto out;
	}
	a->nx = a->t1.nx;
	a->ny = a->t1.ny;
	a->nz = a->t1.nz;
	n = a->nx * a->ny * a->nz;
	a->tissue = sul_xcalloc((size_t)n, 1);
	a->lobe = sul_xcalloc((size_t)n, 1);
	if (classify_tissue(a, &bet, p2, err))
		goto out;
	assign_lobes(a, &aal, lobe_of_label);
	distance_maps(a);
	if (lesion_candidates(a, p2, err))
		goto out;
	contrasts(a);
	ret = 0;
out:
	if (ret)
		sul_synth_anatomy_release(a);
	sul_volume_release(&bet);
	sul_volume_release(&aal);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
	return ret;
}

void sul_synth_anatomy_release(struct anatomy *a)
{
	sul_volume_release(&a->t1);
	free(a->tissue);
	free(a->lobe);
	free(a->t2);
	free(a->flair);
	free(a->vent_dist);
	free(a->gm_dist);
	free(a->peri);
	free(a->juxta);
	free(a->wm);
	memset(a, 0, sizeof(*a));
}
