/* pngio.c - 8-bit RGB PNG files through libpng (see pngio.h). */
#include "pngio.h"
#include "../engine/fsutil.h"
#include "../engine/strbuf.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

int sul_png_write_rgb(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
		      struct sul_err *err)
{
	png_image img;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = width;
	img.height = height;
	img.format = PNG_FORMAT_RGB;
	/* The simplified API never longjmps into us: it reports through
	 * img.message, and removes a partly written file itself. */
	if (!png_image_write_to_file(&img, path, 0, rgb, 0, NULL)) {
		sul_err_set(err, SUL_ERR_FAIL, "cannot write PNG '%s': %s", path, img.message);
		png_image_free(&img);
		return -1;
	}
	png_image_free(&img);
	return 0;
}

int sul_png_read_rgb(const char *path, uint8_t **rgb, uint32_t *width, uint32_t *height,
		     struct sul_err *err)
{
	png_color black = { 0, 0, 0 };
	png_image img;
	uint8_t *buf = NULL;

	*rgb = NULL;
	if (!sul_path_exists(path))
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': no such file", path);
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, path))
		goto fail;
	img.format = PNG_FORMAT_RGB;
	buf = sul_xmalloc(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, &black, buf, 0, NULL))
		goto fail;
	*rgb = buf;
	*width = img.width;
	*height = img.height;
	png_image_free(&img);
	return 0;
fail:
	sul_err_set(err, SUL_ERR_INPUT, "'%s': not a readable PNG image: %s", path, img.message);
	png_image_free(&img);
	free(buf);
	return -1;
}
