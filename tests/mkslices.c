/*
 * mkslices.c - test data for the Darknet stages: an easily separable,
 * labelled slice set in the layout that `slices` + `split` produce.
 *
 *   mkslices OUTDIR SUBJECTS_PER_CLASS SLICES_PER_SUBJECT SIZE SEED
 *
 * Three classes (groups A, B, C); a class is the pattern inside a bright
 * disc at a random place in a noisy "brain" ellipse on a zero background
 * (as skull-stripped slices are, and as the zero fill of augmentation
 * is): a smooth blob (A), a ring (B), stripes (C).  Position tells nothing, so a network (even with
 * a global-average-pool head, which cannot see position) must look at the
 * disc, and a small CNN learns it in a few dozen steps.  Writes OUTDIR/<group>/<subject>_zNNN.png
 * and OUTDIR/split.tsv (subject, slice, group, class, path, split, lesions)
 * with subjects dealt to train/val/test 3:1:1 per class, never split
 * across; lesions names a mask of the blob (OUTDIR/mask/...: 1 within its
 * radius), the ground truth of where the class evidence lies.
 */
#include "../stages/pngio.h"
#include "../stages/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	static const char *const groups[3] = { "A", "B", "C" }, *const splits[5] = { "train", "train", "train", "val", "test" };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_rng rng;
	char path[4096];
	FILE *tsv;
	int nsub, nsl, size, c, s, z, x, y;

	if (argc != 6) {
		fprintf(stderr, "usage: mkslices OUTDIR SUBJECTS_PER_CLASS SLICES_PER_SUBJECT SIZE SEED\n");
		return 2;
	}
	nsub = (int)strtol(argv[2], NULL, 10), nsl = (int)strtol(argv[3], NULL, 10);
	size = (int)strtol(argv[4], NULL, 10);
	sul_rng_seed(&rng, strtoull(argv[5], NULL, 10));
	if (nsub < 1 || nsl < 1 || size < 8) {
		fprintf(stderr, "mkslices: bad arguments\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/split.tsv", argv[1]);
	tsv = fopen(path, "w");
	if (!tsv) {
		perror(path);
		return 1;
	}
	fprintf(tsv, "subject\tslice\tgroup\tclass\tpath\tsplit\tlesions\n");
	for (c = 0; c < 3; c++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], groups[c]);
		mkdir(path, 0777);
		snprintf(path, sizeof(path), "%s/mask", argv[1]);
		mkdir(path, 0777);
		snprintf(path, sizeof(path), "%s/mask/%s", argv[1], groups[c]);
		mkdir(path, 0777);
		for (s = 0; s < nsub; s++)
			for (z = 0; z < nsl; z++) {
				uint8_t *rgb = malloc((size_t)size * size * 3), *mask = malloc((size_t)size * size * 3);
				/* The disc lies inside the ellipse (semi-axes 0.42 and 0.46 of the size). */
				double r = size / 7.0, ang = 2 * M_PI * sul_rng_uniform(&rng), rad = 0.18 * sul_rng_uniform(&rng);
				double cx = size * (0.5 + rad * cos(ang)), cy = size * (0.5 + rad * sin(ang));
				for (y = 0; y < size; y++)
					for (x = 0; x < size; x++) {
						double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (r * r), p;
						double v;
						int ch;
						if (c == 0)
							p = exp(-2 * d2);
						else if (c == 1)
							p = exp(-30 * (sqrt(d2) - 0.75) * (sqrt(d2) - 0.75));
						else
							p = d2 <= 1 ? 0.5 + 0.5 * cos(M_PI * (y - cy) / (r / 2.5)) : 0;
						double ex = (x - size / 2.0) / (0.42 * size), ey = (y - size / 2.0) / (0.46 * size);
						v = ex * ex + ey * ey <= 1 ? 50 + 180 * p + 20 * sul_rng_normal(&rng) : 0;
						for (ch = 0; ch < 3; ch++) {
							rgb[((size_t)y * size + x) * 3 + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
							mask[((size_t)y * size + x) * 3 + ch] = d2 <= 1;
						}
					}
				snprintf(path, sizeof(path), "%s/%s/sub-%s%02d_z%03d.png", argv[1], groups[c], groups[c], s, z);
				if (sul_png_write_rgb(path, rgb, (uint32_t)size, (uint32_t)size, &err)) {
					fprintf(stderr, "mkslices: %s\n", err.msg);
					return 1;
				}
				snprintf(path, sizeof(path), "%s/mask/%s/sub-%s%02d_z%03d.png", argv[1], groups[c], groups[c], s, z);
				if (sul_png_write_rgb(path, mask, (uint32_t)size, (uint32_t)size, &err)) {
					fprintf(stderr, "mkslices: %s\n", err.msg);
					return 1;
				}
				free(rgb);
				free(mask);
				fprintf(tsv, "sub-%s%02d\t%d\t%s\t%d\t%s/sub-%s%02d_z%03d.png\t%s\tmask/%s/sub-%s%02d_z%03d.png\n",
					groups[c], s, z, groups[c], c, groups[c], groups[c], s, z, splits[s % 5], groups[c],
					groups[c], s, z);
			}
	}
	return fclose(tsv) ? 1 : 0;
}
