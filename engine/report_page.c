/*
 * report_page.c - the report's page around its sections (head, style,
 * contents, footer) and writing it out: OUT/index.html and the images in
 * OUT/img/, replaced only once the whole page has rendered.  It runs no
 * query itself (report_render.c does, section by section).
 */
#include "report_private.h"
#include "clock.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What marks OUT/index.html as ours (sul_report_write overwrites only that). */
#define GENERATOR_META "<meta name=\"generator\" content=\"sulcus report\">"

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Liberation Sans',sans-serif;"
	"color:#222;background:#f6f7f9;margin:0}\n"
	"header{background:#1f3a5f;color:#fff;padding:18px 32px}\n"
	"header h1{margin:0;font-size:22px;font-weight:600}\n"
	"header p{margin:4px 0 0;opacity:.8;font-size:13px}\n"
	"main,nav.toc{max-width:1240px;margin:0 auto;padding:0 32px}\n"
	"nav.toc{padding-top:16px}\n"
	"nav.toc h2{font-size:15px;margin:0 0 4px}\n"
	"nav.toc ol{margin:0;padding-left:22px;columns:2}\n"
	"nav.toc a{color:#1f3a5f}\n"
	"section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:12px 20px 18px;margin:18px 0}\n"
	"section h2{font-size:18px;margin:4px 0 10px;color:#1f3a5f}\n"
	"h3{font-size:14px;margin:14px 0 6px}\n"
	".scroll{overflow-x:auto}\n"
	".colorbar{display:flex;align-items:center;gap:8px;font-size:12px;color:#555;margin:6px 0}\n"
	"table.data{border-collapse:collapse;font-size:13px}\n"
	"table.data th,table.data td{padding:4px 10px;border-bottom:1px solid #eceef1;text-align:left;white-space:nowrap}\n"
	"table.data th{background:#f1f3f6;font-weight:600}\n"
	"table.data td{white-space:normal;overflow-wrap:anywhere;max-width:36em}\n"
	"table.data .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"table.data td.null{color:#aaa;text-align:center}\n"
	"table.data tbody tr:hover{background:#f8fafc}\n"
	".panels{display:flex;flex-wrap:wrap;gap:18px 28px}\n"
	"figure{margin:0}\n"
	"figure.panel figcaption{font-weight:600;font-size:13px;margin-bottom:4px}\n"
	".mrow{display:flex;align-items:flex-start;gap:10px;margin:6px 0}\n"
	".mrow-label{width:60px;flex:none;font-weight:600;padding-top:44px;overflow-wrap:anywhere}\n"
	".mimgs{display:flex;flex-wrap:wrap;gap:6px}\n"
	".mimgs figure{width:116px}\n"
	".mimgs img,.noimg{width:112px;height:112px;object-fit:contain;background:#000;border:2px solid #ddd;"
	"image-rendering:pixelated;display:block}\n"
	".noimg{background:#eee;color:#999;text-align:center;line-height:112px}\n"
	".mimgs figcaption{font-size:10px;color:#555;overflow-wrap:anywhere;line-height:1.25}\n"
	"p.nodata{color:#888;font-style:italic}\n"
	".note{color:#777;font-size:12px}\n"
	"ul.links{padding-left:20px;columns:2;font-size:13px}\n"
	".missing{color:#b33}\n"
	"footer{color:#888;font-size:12px;text-align:center;padding:8px 0 24px}\n";

int sul_report_render(const struct sul_report *rep, struct sul_report_ctx *ctx, struct sul_buf *html,
		      struct sul_err *err)
{
	char now[64];
	size_t i;

	sul_now_iso(now);
	sul_buf_adds(html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" GENERATOR_META "\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	esc(html, rep->title);
	sul_buf_addf(html, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header><h1>", css);
	esc(html, rep->title);
	sul_buf_adds(html, "</h1><p>");
	if (ctx->run_id > 0)
		sul_buf_addf(html, "run %lld \xc2\xb7 ", ctx->run_id);
	else
		sul_buf_adds(html, "no run recorded \xc2\xb7 ");
	sul_buf_addf(html, "generated %s", now);
	if (ctx->generator) {
		sul_buf_adds(html, " by ");
		esc(html, ctx->generator);
	}
	sul_buf_adds(html, "</p></header>\n<nav class=\"toc\"><h2>Contents</h2><ol>\n");
	for (i = 0; i < rep->n; i++) {
		sul_buf_addf(html, "<li><a href=\"#%s\">", rep->sec[i].id);
		esc(html, rep->sec[i].title);
		sul_buf_adds(html, "</a></li>\n");
	}
	sul_buf_adds(html, "</ol></nav>\n<main>\n");
	for (i = 0; i < rep->n; i++)
		if (sul_report_render_section(rep, &rep->sec[i], ctx, html, err))
			return -1;
	sul_buf_adds(html, "</main>\n<footer>static report: every figure is drawn from the results database; "
			   "images are copies in img/</footer>\n</body>\n</html>\n");
	return 0;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int holds_report(const char *index)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err ignored = SUL_ERR_INIT;
	int ours = !sul_read_file(index, &b, &ignored) && strstr(b.buf, GENERATOR_META);

	sul_buf_release(&b);
	return ours;
}

int sul_report_write(const struct sul_report *rep, struct sul_report_ctx *ctx, const char *out_dir,
		     struct sul_err *err)
{
	char *index = sul_xasprintf("%s/index.html", out_dir), *img = sul_xasprintf("%s/img", out_dir);
	char *staging = sul_xasprintf("%s/.img.tmp.%ld", out_dir, (long)getpid());
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err ignored = SUL_ERR_INIT;
	struct stat st;
	int ret = -1;

	if (!stat(out_dir, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			sul_err_set(err, SUL_ERR_INPUT, "report folder '%s' is not a folder", out_dir);
			goto out;
		}
		if (!dir_is_empty(out_dir) && !holds_report(index)) {
			sul_err_set(err, SUL_ERR_INPUT,
				    "report folder '%s' is not empty and holds no earlier report: refusing to write into it",
				    out_dir);
			goto out;
		}
	} else if (errno != ENOENT) {
		sul_err_sys(err, "cannot read '%s'", out_dir);
		goto out;
	}
	if (sul_rmtree(staging, err) || sul_mkdirs(staging, err))
		goto out;
	ctx->out_dir = out_dir;
	ctx->img_dir = staging;
	ctx->nimages = 0;
	ctx->nfiles = 0;
	if (sul_report_render(rep, ctx, &html, err)) {
		sul_rmtree(staging, &ignored);
		goto out;
	}
	if (sul_rmtree(img, err))
		goto out;
	if (rename(staging, img)) {
		sul_err_sys(err, "cannot rename '%s' to '%s'", staging, img);
		goto out;
	}
	ctx->img_dir = NULL;
	if (sul_write_file_atomic(index, html.buf, html.len, err))
		goto out;
	ret = 0;
out:
	sul_buf_release(&html);
	free(index);
	free(img);
	free(staging);
	return ret;
}
