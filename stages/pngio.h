/*
 * pngio.h - 8-bit RGB PNG files in and out (libpng's simplified API), for
 * stage kinds that hand images to Darknet.  Not a kind.
 *
 * Named pngio rather than png so that `#include "png.h"` keeps meaning
 * libpng's header.  It writes only 8-bit RGB without alpha, text or time
 * chunks, so the same pixels always give the same bytes.  It does not
 * handle 16-bit output, palettes or colour management beyond libpng's
 * default sRGB tagging.
 */
#ifndef SUL_PNGIO_H
#define SUL_PNGIO_H

#include <stdint.h>

#include "../engine/err.h"

/* Writes width x height pixels of rgb (rows top to bottom, R G B bytes per
 * pixel, no row padding) to path.  On failure the file may be missing or
 * partial; err names the path. */
int sul_png_write_rgb(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
		      struct sul_err *err);

/* Reads path, converted to 8-bit RGB (grey is replicated; an alpha channel
 * is composited onto black).  On success *rgb is malloc'd (width * height *
 * 3 bytes, the caller frees); on failure *rgb is NULL. */
int sul_png_read_rgb(const char *path, uint8_t **rgb, uint32_t *width, uint32_t *height,
		     struct sul_err *err);

#endif
