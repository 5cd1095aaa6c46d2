/*
 * report_files.c - the kinds of the report that show files: montage (images
 * copied into the report's img/ folder, so the page stands alone) and links
 * (paths relative to the report's folder).  A path cell names a file in the
 * workspace's cache (a column named `file`, CACHE_KEY/PATH) or on disk; a
 * missing file is shown as missing, not an error.
 */
#include "report_private.h"
#include "fsutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The file a path cell names (report.h): CACHE_KEY/PATH in the cache for a
 * column named `file`, else a path relative to the current folder.  Caller
 * frees. */
static int resolve_path(const struct sul_report *rep, const struct section *s, const struct sul_report_ctx *ctx,
			const char *col, const char *v, char **out, struct sul_err *err)
{
	const char *slash;

	*out = NULL;
	if (strcmp(col, "file")) {
		*out = sul_path_resolve(NULL, v);
		return 0;
	}
	slash = strchr(v, '/');
	if (!slash || slash == v || !slash[1])
		return sul_report_fail(rep, s, err, "column 'file': expected CACHE_KEY/PATH, got '%s'", v);
	if (!ctx->cache_dir)
		return sul_report_fail(rep, s, err, "column 'file': no workspace cache to find '%s' in", v);
	*out = sul_xasprintf("%s/%.*s/out/%s", ctx->cache_dir, (int)(slash - v), v, slash + 1);
	return 0;
}

static int is_file(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* A file name for the copy of src in img/: unique by n, readable by the
 * last characters of src's own name, and safe in a URL. */
static char *image_name(const char *section, size_t n, const char *src)
{
	const char *base = strrchr(src, '/');
	struct sul_buf b = SUL_BUF_INIT;
	size_t len, start;

	base = base ? base + 1 : src;
	len = strlen(base);
	start = len > 64 ? len - 64 : 0;
	sul_buf_addf(&b, "%s-%04zu-", section, n);
	for (base += start; *base; base++) {
		char c = *base;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
			 || c == '-';
		sul_buf_addc(&b, ok ? c : '_');
	}
	return sul_buf_detach(&b);
}

/* The copy's name of a linked file: as image_name, marked as a file so
 * that it never meets an image's name. */
static char *file_name(const char *section, size_t n, const char *src)
{
	char *tag = sul_xasprintf("%s-file", section), *name = image_name(tag, n, src);

	free(tag);
	return name;
}

/* The montage's colour scale: a gradient through the spec's stops, from
 * 0 (low) to 1 (high), each map being scaled to its own range. */
static void add_colorbar(struct sul_buf *h, const struct section *s)
{
	const char *v = s->colorbar;

	sul_buf_addf(h, "<div class=\"colorbar\"><span>0, low</span><svg xmlns=\"http://www.w3.org/2000/svg\" "
			"width=\"240\" height=\"14\" role=\"img\" aria-label=\"colour scale\"><defs>"
			"<linearGradient id=\"cb-%s\">", s->id);
	while (*v) {
		unsigned rgb;
		double off;
		int used = 0;
		if (sscanf(v, " #%6x %lf%n", &rgb, &off, &used) != 2)
			break;
		sul_buf_addf(h, "<stop offset=\"%.4g\" stop-color=\"#%06x\"/>", off, rgb);
		v += used;
		while (*v == ' ' || *v == ',')
			v++;
	}
	sul_buf_addf(h, "</linearGradient></defs><rect width=\"240\" height=\"14\" fill=\"url(#cb-%s)\"/></svg>"
			"<span>1, high (each map scaled to its own range)</span></div>\n", s->id);
}

int sul_report_render_montage(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	struct sul_report_names panels = { 0 };
	size_t *panel_of = sul_xcalloc(r->n + 1, sizeof(*panel_of)), *pick = sul_xcalloc(r->n + 1, sizeof(*pick));
	size_t p, i, k;
	int base = r->ncols - 3, ret = -1;
	const char *col = r->names[base + 2];

	sul_report_split_panels(r, 4, &panels, panel_of);
	if (s->colorbar)
		add_colorbar(h, s);
	sul_buf_adds(h, "<div class=\"panels\">\n");
	for (p = 0; p < panels.n; p++) {
		struct sul_report_names rowlabels = { 0 };
		size_t npick = 0, total = 0;
		for (i = 0; i < r->n; i++)
			if (panel_of[i] == p && sul_query_cell(r, i, base + 2)->text && total++ < (size_t)s->per_panel) {
				pick[npick++] = i;
				sul_report_names_index(&rowlabels, sul_report_label(r, i, base));
			}
		sul_buf_adds(h, "<div class=\"montage\">");
		if (base) {
			sul_buf_adds(h, "<h3>");
			esc(h, panels.v[p]);
			sul_buf_adds(h, "</h3>");
		}
		if (total > npick)
			sul_buf_addf(h, "<p class=\"note\">%zu of %zu images</p>", npick, total);
		for (k = 0; k < rowlabels.n; k++) {
			sul_buf_adds(h, "\n<div class=\"mrow\"><div class=\"mrow-label\">");
			esc(h, rowlabels.v[k]);
			sul_buf_adds(h, "</div><div class=\"mimgs\">");
			for (i = 0; i < npick; i++) {
				size_t row = pick[i];
				char *src = NULL, *name, *dst;
				if (strcmp(sul_report_label(r, row, base), rowlabels.v[k]))
					continue;
				if (resolve_path(rep, s, ctx, col, sul_report_label(r, row, base + 2), &src, err)) {
					sul_report_names_release(&rowlabels);
					goto out;
				}
				sul_buf_adds(h, "<figure>");
				if (!is_file(src)) {
					sul_buf_adds(h, "<div class=\"noimg\" title=\"");
					esc(h, src);
					sul_buf_adds(h, "\">missing</div>");
				} else {
					name = image_name(s->id, ++ctx->nimages, src);
					dst = sul_xasprintf("%s/%s", ctx->img_dir, name);
					if (sul_copy_file(src, dst, err)) {
						sul_err_prefix(err, "section '%s'", s->id);
						free(dst);
						free(name);
						free(src);
						sul_report_names_release(&rowlabels);
						goto out;
					}
					sul_buf_adds(h, "<img src=\"img/");
					esc(h, name);
					sul_buf_adds(h, "\" alt=\"");
					if (base) {
						esc(h, panels.v[p]);
						sul_buf_adds(h, ", ");
					}
					esc(h, rowlabels.v[k]);
					sul_buf_adds(h, ", ");
					esc(h, sul_report_label(r, row, base + 1));
					sul_buf_adds(h, "\">");
					free(dst);
					free(name);
				}
				sul_buf_adds(h, "<figcaption>");
				esc(h, sul_report_label(r, row, base + 1));
				sul_buf_adds(h, "</figcaption></figure>");
				free(src);
			}
			sul_buf_adds(h, "</div></div>");
		}
		sul_buf_adds(h, "\n</div>\n");
		sul_report_names_release(&rowlabels);
	}
	sul_buf_adds(h, "</div>\n");
	if (!panels.n)
		sul_report_add_nodata(h, s);
	ret = 0;
out:
	sul_report_names_release(&panels);
	free(panel_of);
	free(pick);
	return ret;
}

/* The path of `to` relative to the folder `from`; both absolute and
 * canonical.  Caller frees. */
static char *relative_path(const char *from, const char *to)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t i = 0, common = 0;
	const char *p;

	while (from[i] && from[i] == to[i]) {
		i++;
		if (from[i - 1] == '/')
			common = i;
	}
	if (!from[i] && (to[i] == '/' || !to[i]))
		common = i;
	for (p = from + common; *p; ) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		sul_buf_adds(&b, "../");
		while (*p && *p != '/')
			p++;
	}
	p = to + common;
	while (*p == '/')
		p++;
	sul_buf_adds(&b, *p || b.len ? p : ".");
	return sul_buf_detach(&b);
}

/* Appends path percent-encoded for a URL (slashes kept). */
static void add_url_path(struct sul_buf *b, const char *path)
{
	for (; *path; path++) {
		unsigned char c = (unsigned char)*path;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("/-._~", c))
			sul_buf_addc(b, (char)c);
		else
			sul_buf_addf(b, "%%%02X", c);
	}
}

int sul_report_render_links(const struct sul_report *rep, const struct section *s, struct sul_report_ctx *ctx,
			     const struct sul_query_rows *r, struct sul_buf *h, struct sul_err *err)
{
	char *outreal = NULL;
	size_t i;
	int c, ret = -1;

	if (!r->n) {
		sul_report_add_nodata(h, s);
		return 0;
	}
	outreal = realpath(ctx->out_dir, NULL);
	if (!outreal)
		return sul_err_sys(err, "section '%s': cannot resolve '%s'", s->id, ctx->out_dir);
	sul_buf_adds(h, "<ul class=\"links\">\n");
	for (i = 0; i < r->n; i++) {
		const char *v = sul_query_cell(r, i, 1)->text, *sep = "";
		char *path = NULL, *real = NULL, *rel;
		sul_buf_adds(h, "<li>");
		if (v && strcmp(r->names[1], "file") && strstr(v, "://")) {
			sul_buf_adds(h, "<a href=\"");
			esc(h, v);
			sul_buf_adds(h, "\">");
			esc(h, sul_report_label(r, i, 0));
			sul_buf_adds(h, "</a>");
		} else if (v) {
			if (resolve_path(rep, s, ctx, r->names[1], v, &path, err))
				goto out;
			real = realpath(path, NULL);
			if (!real) {
				sul_buf_adds(h, "<span class=\"missing\">");
				esc(h, sul_report_label(r, i, 0));
				sul_buf_adds(h, "</span> (missing: ");
				esc(h, path);
				sul_buf_adds(h, ")");
			} else if (is_file(real)) {
				/* A copy in the report's folder: the page survives being
				 * moved, zipped or the cache's gc. */
				char *name = file_name(s->id, ++ctx->nfiles, real);
				char *dst = sul_xasprintf("%s/%s", ctx->img_dir, name);
				int r2 = sul_copy_file(real, dst, err);
				free(dst);
				if (r2) {
					sul_err_prefix(err, "section '%s'", s->id);
					free(name);
					free(real);
					free(path);
					goto out;
				}
				sul_buf_adds(h, "<a href=\"img/");
				add_url_path(h, name);
				sul_buf_adds(h, "\">");
				esc(h, sul_report_label(r, i, 0));
				sul_buf_adds(h, "</a>");
				free(name);
			} else {
				/* A folder is linked where it is. */
				rel = relative_path(outreal, real);
				sul_buf_adds(h, "<a href=\"");
				add_url_path(h, rel);
				sul_buf_adds(h, "\">");
				esc(h, sul_report_label(r, i, 0));
				sul_buf_adds(h, "</a>");
				free(rel);
			}
			free(real);
			free(path);
		} else {
			esc(h, sul_report_label(r, i, 0));
		}
		for (c = 2; c < r->ncols; c++) {
			if (!sul_query_cell(r, i, c)->text)
				continue;
			sul_buf_adds(h, *sep ? sep : " <span class=\"note\">");
			esc(h, sul_report_label(r, i, c));
			sep = " \xc2\xb7 ";
		}
		if (*sep)
			sul_buf_adds(h, "</span>");
		sul_buf_adds(h, "</li>\n");
	}
	sul_buf_adds(h, "</ul>\n");
	ret = 0;
out:
	free(outreal);
	return ret;
}

