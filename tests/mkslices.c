/*
 * mkslices.c - test data for the Darknet stages: an easily separable,
 * labelled slice set in the layout that `slices` + `split` produce.
 *
 *   mkslices OUTDIR SUBJECTS_PER_CLASS SLICES_PER_SUBJECT SIZE SEED
 *
 * Three classes (groups A, B, C); a class is where a bright blob sits (left,
 * centre, right third of the image) on a noisy dark background, so a small
 * CNN learns it in a few dozen steps.  Writes OUTDIR/<group>/<subject>_zNNN.png
 * and OUTDIR/split.tsv (subject, slice, group, class, path, split) with
 * subjects dealt to train/val/test 3:1:1 per class, never split across.
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
	nsub = atoi(argv[2]), nsl = atoi(argv[3]), size = atoi(argv[4]);
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
	fprintf(tsv, "subject\tslice\tgroup\tclass\tpath\tsplit\n");
	for (c = 0; c < 3; c++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], groups[c]);
		mkdir(path, 0777);
		for (s = 0; s < nsub; s++)
			for (z = 0; z < nsl; z++) {
				uint8_t *rgb = malloc((size_t)size * size * 3);
				double cx = size * (c + 0.5) / 3 + (sul_rng_uniform(&rng) - 0.5) * size / 8;
				double cy = size * (0.3 + 0.4 * sul_rng_uniform(&rng)), r = size / 8.0;
				for (y = 0; y < size; y++)
					for (x = 0; x < size; x++) {
						double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (r * r);
						double v = 30 + 200 * exp(-d2) + 20 * sul_rng_normal(&rng);
						int ch;
						for (ch = 0; ch < 3; ch++)
							rgb[((size_t)y * size + x) * 3 + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
					}
				snprintf(path, sizeof(path), "%s/%s/sub-%s%02d_z%03d.png", argv[1], groups[c], groups[c], s, z);
				if (sul_png_write_rgb(path, rgb, (uint32_t)size, (uint32_t)size, &err)) {
					fprintf(stderr, "mkslices: %s\n", err.msg);
					return 1;
				}
				free(rgb);
				fprintf(tsv, "sub-%s%02d\t%d\t%s\t%d\t%s/sub-%s%02d_z%03d.png\t%s\n", groups[c], s, z, groups[c], c,
					groups[c], groups[c], s, z, splits[s % 5]);
			}
	}
	return fclose(tsv) ? 1 : 0;
}
