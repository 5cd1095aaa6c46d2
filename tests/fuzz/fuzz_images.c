/*
 * fuzz_images.c - libFuzzer target: the NIfTI reader (libnifti2 behind
 * sul_volume_read_max, with ingest's default size limit) and the PNG
 * reader (libpng behind sul_png_read_rgb).  The first byte picks the
 * reader and the suffix: 0 .nii, 1 .nii.gz, 2 .png.
 */
#include "fuzz_util.h"
#include "../../stages/pngio.h"
#include "../../stages/volume.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const suffix[] = { ".nii", ".nii.gz", ".png" };
	struct sul_err err = SUL_ERR_INIT;
	int which;

	if (size < 1)
		return 0;
	which = data[0] % 3;
	if (which < 2) {
		struct sul_volume v;
		if (!sul_volume_read_max(fuzz_file(data + 1, size - 1, suffix[which]), 1 << 24, &v, &err))
			sul_volume_release(&v);
		else if (!err.msg[0])
			abort();
	} else {
		uint8_t *rgb = NULL;
		uint32_t w, h;
		if (!sul_png_read_rgb(fuzz_file(data + 1, size - 1, suffix[which]), &rgb, &w, &h, &err))
			free(rgb);
		else if (!err.msg[0])
			abort();
	}
	return 0;
}
