/*
 * check_report.c - the HTML report (engine/report_*.c) and its charts
 * (engine/svg.c) on hand-made in-memory databases: markup that closes what
 * it opens, text escaped, bar heights proportional to the values, numbers
 * and NULL in tables, the no-data note, images copied and links resolved,
 * and the exact messages for bad specs and bad SQL.  The study's spec
 * (workflows/report.cfg) and the generic one built in must render on an
 * empty database of the current schema; a workflow's spec is found beside
 * it.
 */
#include "check_util.h"
#include "../engine/db.h"
#include "../engine/fsutil.h"
#include "../engine/report.h"
#include "../engine/strbuf.h"
#include "../engine/svg.h"
#include "../engine/tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when every element of markup s is closed, in order (void HTML elements
 * and <!DOCTYPE> need no closing tag). */
static int balanced(const char *s)
{
	static const char *const voids[] = { "meta", "img", "br", "hr", "link", "input" };
	char stack[128][32];
	int depth = 0;

	while ((s = strchr(s, '<'))) {
		const char *e = strchr(s, '>'), *p = s + 1 + (s[1] == '/');
		char name[32];
		size_t n = strcspn(p, " />\n");
		unsigned v;
		int is_void = 0;
		if (!e || n == 0 || n >= sizeof(name))
			return 0;
		memcpy(name, p, n);
		name[n] = '\0';
		for (v = 0; v < sizeof(voids) / sizeof(voids[0]); v++)
			is_void |= !strcmp(name, voids[v]);
		if (s[1] == '/') {
			if (!depth || strcmp(stack[--depth], name))
				return 0;
		} else if (s[1] != '!' && e[-1] != '/' && !is_void) {
			if (depth == 128)
				return 0;
			memcpy(stack[depth++], name, n + 1);
		}
		s = e + 1;
	}
	return depth == 0;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* The heights of the <rect class="bar"> elements of svg, in order. */
static size_t bar_heights(const char *svg, double *h, size_t max)
{
	size_t n = 0;

	while ((svg = strstr(svg, "class=\"bar\"")) && n < max) {
		const char *p = strstr(svg, "height=\"");
		ck_assert_ptr_nonnull(p);
		h[n++] = strtod(p + 8, NULL);
		svg = p;
	}
	return n;
}

START_TEST(bars_balanced_escaped_proportional)
{
	static const char *const cats[] = { "<b>&", "two" };
	static const char *const series[] = { "s1", "s\"2" };
	const double values[] = { 1, 2, 4, NAN };
	struct sul_svg_bars c = { "lobe", "fraction", cats, 2, series, 2, values };
	struct sul_buf b = SUL_BUF_INIT;
	double h[8];

	sul_svg_bars(&b, &c);
	ck_assert(balanced(b.buf));
	ck_assert_ptr_nonnull(strstr(b.buf, "&lt;b&gt;&amp;"));
	ck_assert_ptr_nonnull(strstr(b.buf, "s&quot;2"));
	ck_assert_ptr_null(strstr(b.buf, "<b>"));
	ck_assert_ptr_nonnull(strstr(b.buf, ">lobe</text>"));
	ck_assert_ptr_nonnull(strstr(b.buf, ">fraction</text>"));
	/* NAN draws no bar; the others are as tall as their values say. */
	ck_assert_uint_eq(bar_heights(b.buf, h, 8), 3);
	ck_assert(h[0] > 10);
	ck_assert_double_eq_tol(h[1] / h[0], 2.0, 1e-3);
	ck_assert_double_eq_tol(h[2] / h[0], 4.0, 1e-3);
	sul_buf_release(&b);
}
END_TEST

START_TEST(negative_bars_hang_from_zero)
{
	static const char *const cats[] = { "a", "b" };
	static const char *const series[] = { "s" };
	const double values[] = { 3, -3 };
	struct sul_svg_bars c = { NULL, NULL, cats, 2, series, 1, values };
	struct sul_buf b = SUL_BUF_INIT;
	double h[4];
	const char *second;

	sul_svg_bars(&b, &c);
	ck_assert(balanced(b.buf));
	ck_assert_uint_eq(bar_heights(b.buf, h, 4), 2);
	ck_assert_double_eq_tol(h[0], h[1], 1e-6);
	/* The negative bar starts where the positive one ends: at 0. */
	second = strstr(strstr(b.buf, "class=\"bar\"") + 1, "class=\"bar\"");
	{
		const char *y0 = strstr(strstr(b.buf, "class=\"bar\""), " y=\""), *y1 = strstr(second, " y=\"");
		ck_assert_double_eq_tol(strtod(y0 + 4, NULL) + h[0], strtod(y1 + 4, NULL), 1e-2);
	}
	sul_buf_release(&b);
}
END_TEST

START_TEST(lines_and_matrix)
{
	const double x1[] = { 1, 2, 3 }, y1[] = { 0.9, 0.5, 0.2 }, x2[] = { 1, 2 }, y2[] = { 0.3, NAN };
	const struct sul_svg_line lines[] = { { "train_loss", x1, y1, 3 }, { "val<loss>", x2, y2, 2 } };
	struct sul_svg_lines lc = { "epoch", "loss", lines, 2 };
	static const char *const rows[] = { "A", "B" };
	static const char *const cols[] = { "A", "B&C" };
	const double cells[] = { 10, 0, NAN, 7 };
	struct sul_svg_matrix mc = { "true", "predicted", rows, 2, cols, 2, cells };
	struct sul_buf b = SUL_BUF_INIT;

	sul_svg_lines(&b, &lc);
	ck_assert(balanced(b.buf));
	ck_assert_uint_eq(count(b.buf, "<polyline"), 2);
	ck_assert_ptr_nonnull(strstr(b.buf, "val&lt;loss&gt;"));
	/* Three points, then the one finite point of the second line. */
	ck_assert_uint_eq(count(b.buf, "<circle"), 4);
	ck_assert_ptr_nonnull(strstr(b.buf, ">epoch</text>"));
	/* Whole steps (epochs): whole ticks, none at 1.5. */
	ck_assert_ptr_nonnull(strstr(b.buf, ">2</text>"));
	ck_assert_ptr_null(strstr(b.buf, ">1.5</text>"));
	sul_buf_reset(&b);

	sul_svg_matrix(&b, &mc);
	ck_assert(balanced(b.buf));
	ck_assert_uint_eq(count(b.buf, "class=\"cell\""), 3);
	ck_assert_ptr_nonnull(strstr(b.buf, ">10</text>"));
	ck_assert_ptr_nonnull(strstr(b.buf, ">7</text>"));
	ck_assert_ptr_nonnull(strstr(b.buf, "B&amp;C"));
	/* The largest count is the darkest cell, and its label is white. */
	ck_assert_ptr_nonnull(strstr(b.buf, "fill=\"#08306b\""));
	sul_buf_release(&b);
}
END_TEST

START_TEST(numbers_read_well)
{
	static const struct {
		double v;
		const char *s;
	} cases[] = {
		{ 0, "0" }, { 42, "42" }, { -3, "-3" }, { 0.98333333, "0.9833" }, { 123.456, "123.5" },
		{ 12345.678, "12345.7" }, { 0.00012345, "1.23e-04" }, { 1e20, "100000000000000000000.0" },
	};
	struct sul_buf b = SUL_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sul_buf_reset(&b);
		sul_svg_add_number(&b, cases[i].v);
		ck_assert_str_eq(b.buf, cases[i].s);
	}
	sul_buf_release(&b);
}
END_TEST

/* --- the report on a database ----------------------------------------------- */

struct fixture {
	char *dir;     /* out_dir; the cache is dir/cache, images go to dir/img */
	struct sul_db *db;
	struct sul_report_ctx ctx;
	char *cache, *img;
};

static void fx_open(struct fixture *f)
{
	struct sul_err err = SUL_ERR_INIT;
	const struct sul_kind *const *kinds;
	size_t nkinds;

	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	f->cache = sul_xasprintf("%s/cache", f->dir);
	f->img = sul_xasprintf("%s/img", f->dir);
	ck_assert_int_eq(sul_mkdirs(f->img, &err), 0);
	/* A database as a run leaves it: the engine's schema and the kinds' tables. */
	kinds = sul_kinds(&nkinds);
	ck_assert_int_eq(sul_db_open(":memory:", 0, &f->db, &err), 0);
	ck_assert_int_eq(sul_tables_sync(f->db, f->cache, kinds, nkinds, &err), 0);
	f->ctx.db = sul_db_handle(f->db);
	f->ctx.run_id = 1;
	f->ctx.cache_dir = f->cache;
	f->ctx.out_dir = f->dir;
	f->ctx.img_dir = f->img;
}

static void fx_close(struct fixture *f)
{
	sul_db_close(f->db);
	free(f->cache);
	free(f->img);
	tu_cleanup();
}

static void fx_sql(struct fixture *f, const char *sql)
{
	ck_assert_int_eq(sqlite3_exec(sul_db_handle(f->db), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Renders spec into html; returns 0 or -1 with err set. */
static int fx_render(struct fixture *f, const char *spec, struct sul_buf *html, struct sul_err *err)
{
	struct sul_report *rep;
	int rc;

	if (sul_report_parse(spec, "t.cfg", &rep, err))
		return -1;
	rc = sul_report_render(rep, &f->ctx, html, err);
	sul_report_free(rep);
	return rc;
}

/* The markup of section id in html (from <section to </section>); caller frees. */
static char *section_of(const char *html, const char *id)
{
	char open[128];
	const char *s, *e;

	snprintf(open, sizeof(open), "<section id=\"%s\"", id);
	s = strstr(html, open);
	ck_assert_msg(s != NULL, "no section '%s'", id);
	e = strstr(s, "</section>");
	ck_assert_ptr_nonnull(e);
	return sul_xstrndup(s, (size_t)(e - s) + strlen("</section>"));
}

START_TEST(table_formats_nulls_and_escapes)
{
	struct fixture f;
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	char *sec;

	fx_open(&f);
	ck_assert_int_eq(fx_render(&f,
				   "title = \"A <study> & more\";\n"
				   "sections = ( { id = \"t\"; kind = \"table\"; title = \"T&T\"; text = \"one\\n\\ntwo <x>\";\n"
				   "  query = \"SELECT 7 AS n, 0.98333333 AS f, NULL AS z, '<i>&' AS t\"; } );\n",
				   &html, &err),
			 0);
	ck_assert(balanced(html.buf));
	ck_assert_ptr_nonnull(strstr(html.buf, "<title>A &lt;study&gt; &amp; more</title>"));
	ck_assert_ptr_nonnull(strstr(html.buf, "<li><a href=\"#t\">T&amp;T</a></li>"));
	sec = section_of(html.buf, "t");
	ck_assert_ptr_nonnull(strstr(sec, "<p>one</p>\n<p>two &lt;x&gt;</p>"));
	ck_assert_ptr_nonnull(strstr(sec, "<th class=\"num\">n</th><th class=\"num\">f</th><th class=\"num\">z</th><th>t</th>"));
	ck_assert_ptr_nonnull(strstr(sec, "<td class=\"num\">7</td><td class=\"num\">0.98333333</td>"
				     "<td class=\"null\">\xe2\x80\x93</td><td>&lt;i&gt;&amp;</td>"));
	ck_assert_ptr_null(strstr(sec, "<i>"));
	free(sec);
	sul_buf_release(&html);
	fx_close(&f);
}
END_TEST

START_TEST(empty_query_shows_nodata)
{
	struct fixture f;
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	char *sec;

	fx_open(&f);
	ck_assert_int_eq(fx_render(&f,
				   "sections = (\n"
				   "  { id = \"lobes\"; kind = \"bars\"; query = \"SELECT lobe, group_name, fraction FROM heatmap_lobes\"; },\n"
				   "  { id = \"m\"; kind = \"matrix\"; empty = \"Nothing <yet>.\";\n"
				   "    query = \"SELECT 'p', 'r', 'c', 1 WHERE 0\"; },\n"
				   "  { id = \"nulls\"; kind = \"lines\"; query = \"SELECT 's', NULL, NULL\"; },\n"
				   "  { id = \"l\"; kind = \"links\"; query = \"SELECT 'a', 'b' WHERE 0\"; }\n"
				   ");\n",
				   &html, &err),
			 0);
	ck_assert(balanced(html.buf));
	sec = section_of(html.buf, "lobes");
	ck_assert_ptr_nonnull(strstr(sec, "<p class=\"nodata\">No data.</p>"));
	ck_assert_ptr_null(strstr(sec, "<svg"));
	free(sec);
	sec = section_of(html.buf, "m");
	ck_assert_ptr_nonnull(strstr(sec, "<p class=\"nodata\">Nothing &lt;yet&gt;.</p>"));
	free(sec);
	/* Rows, but not one point to draw. */
	sec = section_of(html.buf, "nulls");
	ck_assert_ptr_nonnull(strstr(sec, "<p class=\"nodata\">No data.</p>"));
	ck_assert_ptr_null(strstr(sec, "<svg"));
	free(sec);
	sec = section_of(html.buf, "l");
	ck_assert_ptr_nonnull(strstr(sec, "<p class=\"nodata\">No data.</p>"));
	free(sec);
	sul_buf_release(&html);
	fx_close(&f);
}
END_TEST

/* The message rendering spec gives. */
static void assert_render_fails(const char *spec, const char *msg)
{
	struct fixture f;
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;

	fx_open(&f);
	ck_assert_int_eq(fx_render(&f, spec, &html, &err), -1);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_int_eq(err.kind, SUL_ERR_INPUT);
	sul_buf_release(&html);
	fx_close(&f);
}

START_TEST(bad_sql_names_the_section)
{
	assert_render_fails("sections = (\n"
			    "  { id = \"fine\"; kind = \"text\"; text = \"hello\"; },\n"
			    "  { id = \"broken\"; kind = \"table\"; query = \"SELECT * FROM nope\"; }\n"
			    ");\n",
			    "t.cfg:3: section 'broken': no such table: nope");
	assert_render_fails("sections = ( { id = \"w\"; kind = \"table\"; query = \"DELETE FROM runs\"; } );",
			    "t.cfg:1: section 'w': only statements that read are allowed, and this one writes: "
			    "'DELETE FROM runs'");
	assert_render_fails("sections = ( { id = \"two\"; kind = \"table\"; query = \"SELECT 1; SELECT 2\"; } );",
			    "t.cfg:1: section 'two': the query holds more than one statement");
	assert_render_fails("sections = ( { id = \"p\"; kind = \"table\"; query = \"SELECT :stage\"; } );",
			    "t.cfg:1: section 'p': unknown query parameter ':stage' (only :run and :other are bound)");
	assert_render_fails("sections = ( { id = \"b\"; kind = \"bars\"; query = \"SELECT 'a', 1\"; } );",
			    "t.cfg:1: section 'b': kind 'bars' reads the columns [panel,] category, series, value; "
			    "the query returns 2 columns");
	assert_render_fails("sections = ( { id = \"n\"; kind = \"lines\"; query = \"SELECT 's', 'one' AS x, 2\"; } );",
			    "t.cfg:1: section 'n': row 1: column 'x' holds 'one', not a number");
}
END_TEST

static void assert_parse_fails(const char *spec, const char *msg)
{
	struct sul_report *rep = NULL;
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sul_report_parse(spec, "s.cfg", &rep, &err), -1);
	ck_assert_ptr_null(rep);
	ck_assert_str_eq(err.msg, msg);
}

START_TEST(spec_errors)
{
	assert_parse_fails("sections = (\n { id = \"a\"; kind = \"table\"; querry = \"SELECT 1\"; } );",
			   "s.cfg:2: section 'a': unknown key 'querry' (did you mean 'query'?)");
	assert_parse_fails("sections = ( { id = \"a\"; kind = \"bar\"; query = \"SELECT 1\"; } );",
			   "s.cfg:1: section 'a': unknown kind 'bar' (did you mean 'bars'?) "
			   "(table, bars, lines, matrix, montage, links or text)");
	assert_parse_fails("sections = ( { id = \"a\"; kind = \"table\"; query = \"SELECT 1\"; per_panel = 3; } );",
			   "s.cfg:1: section 'a': key 'per_panel' does not apply to kind 'table'");
	assert_parse_fails("sections = ( { id = \"a\"; kind = \"montage\"; query = \"SELECT 1\"; per_panel = 0; } );",
			   "s.cfg:1: section 'a': 'per_panel': expected at least 1, got 0");
	assert_parse_fails("sections = ( { id = \"a\"; kind = \"lines\"; } );",
			   "s.cfg:1: section 'a': kind 'lines' needs a 'query'");
	assert_parse_fails("sections = ( { id = \"a\"; kind = \"text\"; text = \"x\"; },\n"
			   "  { id = \"a\"; kind = \"text\"; text = \"y\"; } );",
			   "s.cfg:2: section 'a': id already used by the section at line 1");
	assert_parse_fails("sections = ( { id = \"a b\"; kind = \"text\"; text = \"x\"; } );",
			   "s.cfg:1: section 'a b': 'id' must be a letter then letters, digits, '_' or '-'");
	assert_parse_fails("sections = ( { kind = \"text\"; text = \"x\"; } );", "s.cfg:1: section 1: missing 'id'");
	assert_parse_fails("titel = \"x\";\nsections = ();",
			   "s.cfg:1: unknown key 'titel' (did you mean 'title'?) (a report spec has 'title' and 'sections')");
	assert_parse_fails("title = \"x\";", "s.cfg: no 'sections' list");
	assert_parse_fails("sections = ( { id = } );", "s.cfg:1: syntax error");
}
END_TEST

START_TEST(charts_split_into_panels)
{
	struct fixture f;
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	char *sec;

	fx_open(&f);
	fx_sql(&f, "INSERT INTO heatmap_lobes VALUES ('k1', 'gradcam', 'RRMS', 'frontal', 2, 4, 0.5),"
		   " ('k1', 'gradcam', 'HC', 'frontal', 1, 4, 0.25), ('k1', 'gradcam', 'RRMS', 'parietal', 2, 4, 0.5),"
		   " ('k1', 'cam', 'HC', 'frontal', 4, 4, 1.0);"
		   "INSERT INTO metrics VALUES ('t', 'val_loss', 2, 0.5), ('t', 'val_loss', 1, 0.9),"
		   " ('t', 'train_loss', 1, 1.0), ('t', 'train_loss', 2, '0.4');");
	ck_assert_int_eq(fx_render(&f,
				   "sections = (\n"
				   "  { id = \"lobes\"; kind = \"bars\"; x_label = \"lobe\";\n"
				   "    query = \"SELECT method, lobe, group_name, fraction FROM heatmap_lobes ORDER BY method DESC\"; },\n"
				   "  { id = \"curves\"; kind = \"lines\";\n"
				   "    query = \"SELECT name, step, value FROM metrics ORDER BY name DESC\"; }\n"
				   ");\n",
				   &html, &err),
			 0);
	ck_assert(balanced(html.buf));
	sec = section_of(html.buf, "lobes");
	ck_assert_uint_eq(count(sec, "<svg"), 2);
	ck_assert_ptr_nonnull(strstr(sec, "<figcaption>gradcam</figcaption>"));
	ck_assert_ptr_nonnull(strstr(sec, "<figcaption>cam</figcaption>"));
	/* gradcam: RRMS and HC at frontal, RRMS at parietal; cam: one bar. */
	ck_assert_uint_eq(count(sec, "class=\"bar\""), 4);
	ck_assert(strstr(sec, "<figcaption>gradcam") < strstr(sec, "<figcaption>cam"));
	free(sec);
	/* No panel column: one chart; points in x order whatever the row order;
	 * axis titles default to the column names. */
	sec = section_of(html.buf, "curves");
	ck_assert_uint_eq(count(sec, "<svg"), 1);
	ck_assert_ptr_null(strstr(sec, "<figcaption>"));
	ck_assert_uint_eq(count(sec, "<polyline"), 2);
	ck_assert_ptr_nonnull(strstr(sec, ">step</text>"));
	ck_assert_ptr_nonnull(strstr(sec, "val_loss (1, 0.9)"));
	ck_assert(strstr(sec, "val_loss (1, 0.9)") < strstr(sec, "val_loss (2, 0.5)"));
	free(sec);
	sul_buf_release(&html);
	fx_close(&f);
}
END_TEST

START_TEST(montage_copies_images_and_links_resolve)
{
	struct fixture f;
	struct sul_buf html = SUL_BUF_INIT, got = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	char *sec, *path;

	fx_open(&f);
	path = sul_xasprintf("%s/k1/out/overlays/gradcam/RRMS", f.cache);
	ck_assert_int_eq(sul_mkdirs(path, &err), 0);
	free(path);
	tu_write(f.cache, "k1/out/overlays/gradcam/RRMS/s1_z010_predicted.png", "PNG one");
	tu_write(f.cache, "k1/out/overlays/gradcam/RRMS/s2 z011.png", "PNG two");
	path = sul_xasprintf("%s/k1/out/volumes", f.cache);
	ck_assert_int_eq(sul_mkdirs(path, &err), 0);
	free(path);
	tu_write(f.cache, "k1/out/volumes/s1 #1.nii.gz", "nifti");
	fx_sql(&f, "INSERT INTO artifacts VALUES ('k1', 'overlays/gradcam/RRMS/s1_z010_predicted.png', 'x', 7),"
		   " ('k1', 'overlays/gradcam/RRMS/s2 z011.png', 'x', 7), ('k1', 'overlays/gradcam/HC/gone.png', 'x', 7),"
		   " ('k1', 'volumes/s1 #1.nii.gz', 'x', 5), ('k1', 'volumes/lost.nii.gz', 'x', 5);");
	ck_assert_int_eq(fx_render(&f,
				   "sections = (\n"
				   "  { id = \"m\"; kind = \"montage\";\n"
				   "    query = \"SELECT 'cam_x', CASE WHEN path LIKE '%/HC/%' THEN 'HC' ELSE 'RRMS' END, path, "
				   "cache_key || '/' || path AS file FROM artifacts WHERE path LIKE 'overlays/%' ORDER BY path DESC\"; },\n"
				   "  { id = \"few\"; kind = \"montage\"; per_panel = 1;\n"
				   "    query = \"SELECT 'r', 'c', cache_key || '/' || path AS file FROM artifacts "
				   "WHERE path LIKE 'overlays/%RRMS%'\"; },\n"
				   "  { id = \"v\"; kind = \"links\";\n"
				   "    query = \"SELECT path, cache_key || '/' || path AS file, bytes || ' bytes' FROM artifacts "
				   "WHERE path LIKE 'volumes/%' ORDER BY path DESC\"; }\n"
				   ");\n",
				   &html, &err),
			 0);
	ck_assert(balanced(html.buf));
	sec = section_of(html.buf, "m");
	ck_assert_ptr_nonnull(strstr(sec, "<h3>cam_x</h3>"));
	/* Copies, named uniquely and safely; alt text and caption. */
	ck_assert_ptr_nonnull(strstr(sec, "<img src=\"img/m-0001-s2_z011.png\" alt=\"cam_x, RRMS, "
				      "overlays/gradcam/RRMS/s2 z011.png\">"));
	ck_assert_ptr_nonnull(strstr(sec, "<img src=\"img/m-0002-s1_z010_predicted.png\""));
	ck_assert_ptr_nonnull(strstr(sec, "<figcaption>overlays/gradcam/RRMS/s2 z011.png</figcaption>"));
	/* A file the database lists but the cache lacks is shown as missing. */
	ck_assert_ptr_nonnull(strstr(sec, "\">missing</div><figcaption>overlays/gradcam/HC/gone.png"));
	ck_assert_uint_eq(count(sec, "<img "), 2);
	free(sec);
	path = sul_xasprintf("%s/m-0001-s2_z011.png", f.img);
	ck_assert_int_eq(sul_read_file(path, &got, &err), 0);
	ck_assert_str_eq(got.buf, "PNG two");
	free(path);
	ck_assert_uint_eq(f.ctx.nimages, 3);
	/* per_panel caps each panel. */
	sec = section_of(html.buf, "few");
	ck_assert_uint_eq(count(sec, "<img "), 1);
	ck_assert_ptr_nonnull(strstr(sec, "<p class=\"note\">1 of 2 images</p>"));
	free(sec);
	/* A linked file is copied into img/ (the report can be moved), its
	 * link URL-encoded. */
	sec = section_of(html.buf, "v");
	ck_assert_msg(strstr(sec, "<li><a href=\"img/v-file-0001-s1__1.nii.gz\">volumes/s1 #1.nii.gz</a>"
				  " <span class=\"note\">5 bytes</span></li>") != NULL, "%s", sec);
	ck_assert_ptr_nonnull(strstr(sec, "<span class=\"missing\">volumes/lost.nii.gz</span> (missing: "));
	free(sec);
	ck_assert_uint_eq(f.ctx.nfiles, 1);
	path = sul_xasprintf("%s/v-file-0001-s1__1.nii.gz", f.img);
	sul_buf_reset(&got);
	ck_assert_int_eq(sul_read_file(path, &got, &err), 0);
	ck_assert_uint_eq(got.len, 5);
	free(path);
	sul_buf_release(&got);
	sul_buf_release(&html);
	fx_close(&f);
}
END_TEST

/* A montage's colour scale: the spec's stops in a gradient, or a clear
 * refusal of a malformed list. */
START_TEST(montage_colorbar)
{
	struct fixture f;
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;

	fx_open(&f);
	ck_assert_msg(fx_render(&f,
				"sections = ( { id = \"m\"; kind = \"montage\"; colorbar = \"#000080 0, #ff0000 1\";\n"
				"  query = \"SELECT 'r', 'c', 'k1/none.png' AS file\"; } );",
				&html, &err) == 0,
		      "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(html.buf, "<stop offset=\"0\" stop-color=\"#000080\"/>"
					       "<stop offset=\"1\" stop-color=\"#ff0000\"/>"));
	ck_assert_ptr_nonnull(strstr(html.buf, "fill=\"url(#cb-m)\""));
	sul_buf_release(&html);
	fx_close(&f);
	assert_render_fails("sections = ( { id = \"m\"; kind = \"montage\"; colorbar = \"#000080 0.5, #ff0000 0.2\";\n"
			    "  query = \"SELECT 'r', 'c', 'x'\"; } );",
			    "t.cfg:1: section 'm': 'colorbar': expected \"#RRGGBB OFFSET, ...\" with offsets from 0 to 1 "
			    "ascending, got '#000080 0.5, #ff0000 0.2'");
}
END_TEST

START_TEST(bad_file_column)
{
	assert_render_fails("sections = ( { id = \"v\"; kind = \"links\"; query = \"SELECT 'x', 'nokey' AS file\"; } );",
			    "t.cfg:1: section 'v': column 'file': expected CACHE_KEY/PATH, got 'nokey'");
}
END_TEST

/* Renders the spec in text on an empty database of the current schema:
 * every section in ids is there, and none but "about" has data. */
static void assert_renders_empty(const char *text, const char *name, const char *const *ids, size_t nids)
{
	struct fixture f;
	struct sul_report *rep;
	struct sul_buf html = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	size_t i;

	fx_open(&f);
	f.ctx.run_id = 0;
	ck_assert_msg(sul_report_parse(text, name, &rep, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(sul_report_nsections(rep), nids);
	ck_assert_msg(sul_report_render(rep, &f.ctx, &html, &err) == 0, "%s", err.msg);
	ck_assert(balanced(html.buf));
	for (i = 0; i < nids; i++) {
		char *sec = section_of(html.buf, ids[i]);
		ck_assert_msg(!strcmp(ids[i], "about") || strstr(sec, "<p class=\"nodata\">"),
			      "section '%s' has data on an empty database", ids[i]);
		free(sec);
	}
	ck_assert_ptr_nonnull(strstr(html.buf, "no run recorded"));
	sul_report_free(rep);
	sul_buf_release(&html);
	fx_close(&f);
}

/* The study's spec travels with its workflows (the tests run in the
 * repository's root). */
START_TEST(study_spec_renders_on_empty_database)
{
	static const char *const ids[] = { "about", "run", "graph", "stages", "models", "crossval", "crossval-tests",
					   "curves", "compare-models", "compare-curves", "confusion", "heatmaps", "lobes",
					   "heatmap-tests", "cascade", "atlas", "group_tests", "consistency", "regions",
					   "group_volumes", "volumes" };
	struct sul_buf text = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_msg(sul_read_file("workflows/report.cfg", &text, &err) == 0, "%s", err.msg);
	assert_renders_empty(text.buf, "workflows/report.cfg", ids, sizeof(ids) / sizeof(ids[0]));
	sul_buf_release(&text);
}
END_TEST

START_TEST(generic_spec_renders_on_empty_database)
{
	static const char *const ids[] = { "about", "run", "graph", "stages", "failures", "metrics", "curves", "outputs" };

	assert_renders_empty(sul_report_generic_spec, SUL_REPORT_GENERIC_SPEC_NAME, ids, sizeof(ids) / sizeof(ids[0]));
}
END_TEST

/* NAME.report.cfg beside the workflow, then report.cfg beside it; never
 * the workflow file itself. */
START_TEST(spec_found_beside_the_workflow)
{
	char *dir = tu_tmpdir(), *wf = sul_xasprintf("%s/study.cfg", dir), *found, *want;
	struct sul_buf looked = SUL_BUF_INIT;

	tu_write(dir, "study.cfg", "name = \"s\";");
	found = sul_report_find_spec(wf, &looked);
	ck_assert_ptr_null(found);
	want = sul_xasprintf("'%s/study.report.cfg' or '%s/report.cfg'", dir, dir);
	ck_assert_str_eq(looked.buf, want);
	free(want);
	tu_write(dir, "report.cfg", "sections = ();");
	found = sul_report_find_spec(wf, NULL);
	want = sul_xasprintf("%s/report.cfg", dir);
	ck_assert_str_eq(found, want);
	free(want);
	free(found);
	tu_write(dir, "study.report.cfg", "sections = ();");
	found = sul_report_find_spec(wf, NULL);
	want = sul_xasprintf("%s/study.report.cfg", dir);
	ck_assert_str_eq(found, want);
	free(want);
	free(found);
	/* A workflow file called report.cfg is not its own spec. */
	free(wf);
	wf = sul_xasprintf("%s/report.cfg", dir);
	ck_assert_ptr_null(sul_report_find_spec(wf, NULL));
	free(wf);
	sul_buf_release(&looked);
	tu_cleanup();
}
END_TEST

START_TEST(write_refuses_a_foreign_folder)
{
	struct fixture f;
	struct sul_report *rep;
	struct sul_err err = SUL_ERR_INIT;
	char *out, msg[1024];

	fx_open(&f);
	out = sul_xasprintf("%s/rep", f.dir);
	ck_assert_int_eq(sul_report_parse("sections = ( { id = \"a\"; kind = \"text\"; text = \"x\"; } );", "s.cfg",
					  &rep, &err),
			 0);
	/* A fresh folder, then the same one again (our own report). */
	ck_assert_int_eq(sul_report_write(rep, &f.ctx, out, &err), 0);
	ck_assert_int_eq(sul_report_write(rep, &f.ctx, out, &err), 0);
	ck_assert_int_eq(sul_report_write(rep, &f.ctx, f.dir, &err), -1);
	snprintf(msg, sizeof(msg), "report folder '%s' is not empty and holds no earlier report: refusing to write into it",
		 f.dir);
	ck_assert_str_eq(err.msg, msg);
	sul_report_free(rep);
	free(out);
	fx_close(&f);
}
END_TEST

SUL_SUITE(report)
{
	Suite *s = suite_create("report");
	TCase *svg = tcase_create("svg"), *rep = tcase_create("report");

	tcase_add_test(svg, bars_balanced_escaped_proportional);
	tcase_add_test(svg, negative_bars_hang_from_zero);
	tcase_add_test(svg, lines_and_matrix);
	tcase_add_test(svg, numbers_read_well);
	tcase_add_test(rep, table_formats_nulls_and_escapes);
	tcase_add_test(rep, empty_query_shows_nodata);
	tcase_add_test(rep, bad_sql_names_the_section);
	tcase_add_test(rep, spec_errors);
	tcase_add_test(rep, charts_split_into_panels);
	tcase_add_test(rep, montage_copies_images_and_links_resolve);
	tcase_add_test(rep, bad_file_column);
	tcase_add_test(rep, montage_colorbar);
	tcase_add_test(rep, study_spec_renders_on_empty_database);
	tcase_add_test(rep, generic_spec_renders_on_empty_database);
	tcase_add_test(rep, spec_found_beside_the_workflow);
	tcase_add_test(rep, write_refuses_a_foreign_folder);
	suite_add_tcase(s, svg);
	suite_add_tcase(s, rep);
	return s;
}
