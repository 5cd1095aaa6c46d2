/*
 * check_netcfg.c - reading, checking and rewriting Darknet network files
 * (stages/netcfg.c): what Darknet would crash on or silently misread is
 * refused with FILE:LINE, the study's networks in cfg/ are accepted, and a
 * rewritten cfg reads back as written.
 */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "../stages/netcfg.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A small valid classifier; the numbers on the right are line numbers. */
static const char small_cfg[] =
	"# a comment\n"              /* 1 */
	"[net]\n"                    /* 2 */
	"batch=4\n"                  /* 3 */
	"width=16\n"                 /* 4 */
	"height=16\n"                /* 5 */
	"channels=3\n"               /* 6 */
	"; another comment\n"        /* 7 */
	"[conv]\n"                   /* 8: alias of [convolutional] */
	"batch_normalize=1\n"        /* 9 */
	"filters=8\n"                /* 10 */
	"size=3\n"                   /* 11 */
	"pad=1\n"                    /* 12 */
	"activation=leaky\n"         /* 13 */
	"\n"                         /* 14 */
	"[maxpool]\n"                /* 15 */
	"size=2\n"                   /* 16 */
	"stride=2\n"                 /* 17 */
	"[avgpool]\n"                /* 18 */
	"[connected]\n"              /* 19 */
	"output=3\n"                 /* 20 */
	"activation=linear\n"        /* 21 */
	"[softmax]\n"                /* 22 */
	"groups=1\n";                /* 23 */

/* Reads text written to DIR/name; returns sul_netcfg_read's result. */
static int read_text(const char *dir, const char *name, const char *text, struct sul_netcfg *cfg,
		     struct sul_err *err)
{
	return sul_netcfg_read(tu_write(dir, name, text), cfg, err);
}

START_TEST(accepts_a_small_classifier)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();
	static const char *const types[] = { "net", "convolutional", "maxpool", "avgpool", "connected", "softmax" };
	static const int lines[] = { 2, 8, 15, 18, 19, 22 };
	size_t i;

	ck_assert_msg(read_text(dir, "small.cfg", small_cfg, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg.nsec, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_str_eq(cfg.sec[i].type, types[i]);
		ck_assert_int_eq(cfg.sec[i].line, lines[i]);
	}
	ck_assert_str_eq(sul_netcfg_get(&cfg, 0, "batch"), "4");
	ck_assert_str_eq(sul_netcfg_get(&cfg, 1, "filters"), "8");
	ck_assert_int_eq(cfg.sec[1].opts[1].line, 10);
	ck_assert_str_eq(sul_netcfg_get(&cfg, 1, "pad"), "1");
	ck_assert_ptr_null(sul_netcfg_get(&cfg, 1, "stride"));
	ck_assert_ptr_null(sul_netcfg_get(&cfg, 3, "size"));
	ck_assert_int_eq(sul_netcfg_classes(&cfg), 3);
	sul_netcfg_release(&cfg);
	ck_assert_uint_eq(cfg.nsec, 0);
	tu_cleanup();
}
END_TEST

/* Darknet's strip() removes every whitespace character of a line, CRs included. */
START_TEST(whitespace_inside_lines_is_removed)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();
	const char *text = "  [ net ]\r\n"
			   "\tbatch = 4\r\n"
			   "[convolutional]  \r\n"
			   " filters = 16\r\n"
			   "activ ation= le aky\r\n"
			   "   \r\n"
			   "  # an indented comment\r\n"
			   "[ connected ]\r\n"
			   "output =\t3\r\n"
			   "[softmax]";  /* no newline at the end */

	ck_assert_msg(read_text(dir, "ws.cfg", text, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg.nsec, 4);
	ck_assert_str_eq(cfg.sec[0].type, "net");
	ck_assert_str_eq(sul_netcfg_get(&cfg, 0, "batch"), "4");
	ck_assert_str_eq(sul_netcfg_get(&cfg, 1, "filters"), "16");
	ck_assert_str_eq(sul_netcfg_get(&cfg, 1, "activation"), "leaky");
	ck_assert_str_eq(cfg.sec[2].type, "connected");
	ck_assert_int_eq(cfg.sec[2].line, 8);
	ck_assert_str_eq(sul_netcfg_get(&cfg, 2, "output"), "3");
	ck_assert_int_eq(cfg.sec[3].line, 10);
	ck_assert_int_eq(sul_netcfg_classes(&cfg), 3);
	sul_netcfg_release(&cfg);
	tu_cleanup();
}
END_TEST

/* The repository root: the first folder above the test binary (build/..., a
 * build folder of any depth) or the current folder that holds cfg/ and
 * stages/netcfg.c. */
static char *repo_root(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *dir, *probe;

	if (n > 0) {
		exe[n] = '\0';
		dir = sul_path_dirname(exe);
		while (strcmp(dir, "/") && strcmp(dir, ".")) {
			char *up;
			probe = sul_xasprintf("%s/stages/netcfg.c", dir);
			if (sul_path_exists(probe)) {
				free(probe);
				return dir;
			}
			free(probe);
			up = sul_path_dirname(dir);
			free(dir);
			dir = up;
		}
		free(dir);
	}
	if (sul_path_exists("stages/netcfg.c"))
		return sul_xstrdup(".");
	return NULL;
}

static int count_sections(const char *path)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_buf b = SUL_BUF_INIT;
	const char *p;
	int n = 0;

	ck_assert_msg(sul_read_file(path, &b, &err) == 0, "%s", err.msg);
	for (p = b.buf; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		while (*p == ' ' || *p == '\t')
			p++;
		n += *p == '[';
	}
	sul_buf_release(&b);
	return n;
}

/* Every network of the study reads, with all its sections and 3 classes. */
START_TEST(accepts_every_cfg_of_the_repository)
{
	struct sul_err err = SUL_ERR_INIT;
	char *root = repo_root(), *cfgdir;
	struct dirent *de;
	DIR *d;
	int files = 0;

	ck_assert_msg(root != NULL, "cannot find the repository (stages/netcfg.c) above the test binary");
	cfgdir = sul_xasprintf("%s/cfg", root);
	d = opendir(cfgdir);
	ck_assert_msg(d != NULL, "cannot open %s", cfgdir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct sul_netcfg cfg;
		char *path;

		if (len < 5 || strcmp(de->d_name + len - 4, ".cfg"))
			continue;
		path = sul_xasprintf("%s/%s", cfgdir, de->d_name);
		ck_assert_msg(sul_netcfg_read(path, &cfg, &err) == 0, "%s", err.msg);
		ck_assert_msg((int)cfg.nsec == count_sections(path), "%s: %zu sections read", path, cfg.nsec);
		ck_assert_str_eq(cfg.sec[0].type, "net");
		ck_assert_str_eq(cfg.sec[cfg.nsec - 1].type, "softmax");
		ck_assert_msg(sul_netcfg_classes(&cfg) == 3, "%s: %d classes", path, sul_netcfg_classes(&cfg));
		sul_netcfg_release(&cfg);
		free(path);
		files++;
	}
	closedir(d);
	ck_assert_int_ge(files, 10);
	free(cfgdir);
	free(root);
}
END_TEST

struct refusal {
	const char *name, *text;
	const char *msg;  /* after "PATH:" */
};

static const struct refusal refusals[] = {
	{ "option-first", "# the network\n\nbatch=1\n[net]\n", "3: 'batch=1' before the first section (expected [net])" },
	{ "first-not-net", "\n# no [net]\n[convolutional]\nfilters=1\n",
	  "3: the first section must be [net], got [convolutional]" },
	{ "second-net", "[net]\nbatch=1\n[network]\n", "3: a second [net] section" },
	{ "unknown-section", "[net]\nbatch=1\n\n[convolutional]\nfilters=3\n[convlutional]\n[softmax]\n",
	  "6: unknown section [convlutional]" },
	{ "yolo", "[net]\n[convolutional]\nfilters=3\n\n[yolo]\nmask=0\n",
	  "5: [yolo] layers are not supported: sulcus trains classification networks (convolutional, connected, "
	  "maxpool, avgpool, dropout, shortcut, route, batchnorm, activation, softmax)" },
	{ "misspelt", "[net]\nbatch=1\n[convolutional]\nsize=3\nfilter=16\n[softmax]\n",
	  "5: [convolutional]: unknown key 'filter' (did you mean 'filters'?)" },
	{ "misspelt-net", "[net]\nbtach=1\n", "2: [net]: unknown key 'btach' (did you mean 'batch'?)" },
	{ "no-equals", "[net]\nbatch=1\n[maxpool]\nstride 2\n", "4: expected KEY=VALUE, got 'stride2'" },
	{ "no-key", "[net]\n=1\n", "2: expected KEY=VALUE, got '=1'" },
	{ "bad-header", "[net]\n[convolutional\n", "2: expected a section header like [convolutional], got '[convolutional'" },
	{ "text-after-header", "[net]\n[maxpool]size=2\n",
	  "2: expected a section header like [convolutional], got '[maxpool]size=2'" },
};

/* Each refusal names the file and the line, in the one message shape. */
START_TEST(refuses_with_file_and_line)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();
	size_t i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		char *path = sul_xasprintf("%s/%s.cfg", dir, r->name);
		char *want = sul_xasprintf("%s:%s", path, r->msg);

		sul_err_clear(&err);
		ck_assert_msg(read_text(dir, strrchr(path, '/') + 1, r->text, &cfg, &err) == -1, "%s: accepted",
			      r->name);
		ck_assert_int_eq(err.kind, SUL_ERR_INPUT);
		ck_assert_str_eq(err.msg, want);
		ck_assert_ptr_null(cfg.sec);  /* released on failure */
		ck_assert_uint_eq(cfg.nsec, 0);
		free(want);
		free(path);
	}
	tu_cleanup();
}
END_TEST

/* A key no section of Darknet reads, and nothing close: the message lists what is read. */
START_TEST(unknown_key_lists_the_keys)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();

	ck_assert_int_eq(read_text(dir, "k.cfg", "[net]\n[maxpool]\nsize=2\nwhatsoever=1\n[softmax]\n", &cfg, &err),
			 -1);
	ck_assert_msg(strstr(err.msg, "/k.cfg:4: [maxpool]: unknown key 'whatsoever'; Darknet reads: padding size "
				      "stride truth onlyforward")
			      != NULL,
		      "%s", err.msg);
	tu_cleanup();
}
END_TEST

/* Whole-file problems: no sections, no layers, not a classifier. */
START_TEST(refuses_what_is_not_a_classifier)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();
	const char *p;
	char *want;

	p = tu_write(dir, "empty.cfg", "# only a comment\n\n");
	ck_assert_int_eq(sul_netcfg_read(p, &cfg, &err), -1);
	want = sul_xasprintf("%s: no sections (expected [net] and layers)", p);
	ck_assert_str_eq(err.msg, want);
	free(want);

	p = tu_write(dir, "nolayers.cfg", "[net]\nbatch=1\nwidth=8\n");
	ck_assert_int_eq(sul_netcfg_read(p, &cfg, &err), -1);
	want = sul_xasprintf("%s: [net] but no layers", p);
	ck_assert_str_eq(err.msg, want);
	free(want);

	p = tu_write(dir, "nosoftmax.cfg", "[net]\n[convolutional]\nfilters=3\n[avgpool]\n[connected]\noutput=3\n");
	ck_assert_int_eq(sul_netcfg_read(p, &cfg, &err), -1);
	want = sul_xasprintf("%s: expected a classifier ending in [connected] or [convolutional], (optionally "
			     "[dropout] or [avgpool],) then [softmax]; it ends in [connected]",
			     p);
	ck_assert_str_eq(err.msg, want);
	free(want);

	/* [softmax] straight after a pool: no layer gives the class count. */
	p = tu_write(dir, "poolsoftmax.cfg", "[net]\n[convolutional]\nfilters=3\n[maxpool]\n[softmax]\n");
	ck_assert_int_eq(sul_netcfg_read(p, &cfg, &err), -1);
	ck_assert_msg(strstr(err.msg, "it ends in [softmax]") != NULL, "%s", err.msg);

	p = tu_write(dir, "onlysoftmax.cfg", "[net]\n[softmax]\n");
	ck_assert_int_eq(sul_netcfg_read(p, &cfg, &err), -1);
	ck_assert_msg(strstr(err.msg, "it ends in [softmax]") != NULL, "%s", err.msg);

	want = sul_xasprintf("%s/missing/x.cfg", dir);
	ck_assert_int_eq(sul_netcfg_read(want, &cfg, &err), -1);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
	ck_assert_ptr_null(cfg.sec);
	free(want);
	tu_cleanup();
}
END_TEST

/* The class count is the outputs of the layer that feeds [softmax]. */
START_TEST(classes_from_the_last_layer)
{
	static const struct {
		const char *text;
		int classes;
	} cases[] = {
		{ "[net]\n[convolutional]\nfilters=8\n[connected]\noutput=3\n[softmax]\n", 3 },
		{ "[net]\n[convolutional]\nfilters=3\nsize=1\n[avgpool]\n[softmax]\n", 3 },
		{ "[net]\n[connected]\noutput=5\n[dropout]\nprobability=.5\n[softmax]\n", 5 },
		{ "[net]\n[convolutional]\nfilters=7\n[connected]\noutput=4\noutput=2\n[softmax]\n", 2 },
		{ "[net]\n[conv]\nsize=1\n[avg]\n[soft]\n", 1 },  /* Darknet's default filters=1 */
	};
	struct sul_err err = SUL_ERR_INIT;
	char *dir = tu_tmpdir();
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sul_netcfg cfg;
		ck_assert_msg(read_text(dir, "c.cfg", cases[i].text, &cfg, &err) == 0, "%s", err.msg);
		ck_assert_msg(sul_netcfg_classes(&cfg) == cases[i].classes, "case %zu: %d classes", i,
			      sul_netcfg_classes(&cfg));
		/* Not a classifier once the [softmax] is gone. */
		cfg.nsec--;
		ck_assert_int_eq(sul_netcfg_classes(&cfg), -1);
		cfg.nsec++;
		sul_netcfg_release(&cfg);
	}
	tu_cleanup();
}
END_TEST

/* set/unset, then write: the file reads back with the new values, after a '#' header. */
START_TEST(set_unset_write_round_trip)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg, back;
	struct sul_buf b = SUL_BUF_INIT;
	char *dir = tu_tmpdir(), *out = sul_xasprintf("%s/out.cfg", dir);
	const char *p;
	size_t i, j;

	ck_assert_msg(read_text(dir, "in.cfg", small_cfg, &cfg, &err) == 0, "%s", err.msg);
	sul_netcfg_set(&cfg, 0, "batch", "16");         /* replaces */
	sul_netcfg_set(&cfg, 0, "subdivisions", "2");   /* adds */
	sul_netcfg_set(&cfg, 1, "filters", "32");
	sul_netcfg_unset(&cfg, 1, "pad");
	sul_netcfg_unset(&cfg, 1, "nonexistent");       /* a no-op */
	sul_netcfg_unset(&cfg, 5, "groups");            /* [softmax] left without options */
	ck_assert_str_eq(sul_netcfg_get(&cfg, 0, "batch"), "16");
	ck_assert_ptr_null(sul_netcfg_get(&cfg, 1, "pad"));
	ck_assert_uint_eq(cfg.sec[5].nopts, 0);
	ck_assert_msg(sul_netcfg_write(&cfg, "written by a test\nsecond line", out, &err) == 0, "%s", err.msg);

	ck_assert_msg(sul_netcfg_read(out, &back, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(back.nsec, cfg.nsec);
	for (i = 0; i < cfg.nsec; i++) {
		ck_assert_str_eq(back.sec[i].type, cfg.sec[i].type);
		ck_assert_uint_eq(back.sec[i].nopts, cfg.sec[i].nopts);
		for (j = 0; j < cfg.sec[i].nopts; j++) {
			ck_assert_str_eq(back.sec[i].opts[j].key, cfg.sec[i].opts[j].key);
			ck_assert_str_eq(back.sec[i].opts[j].value, cfg.sec[i].opts[j].value);
		}
	}
	ck_assert_str_eq(sul_netcfg_get(&back, 0, "batch"), "16");
	ck_assert_str_eq(sul_netcfg_get(&back, 0, "subdivisions"), "2");
	ck_assert_str_eq(sul_netcfg_get(&back, 1, "filters"), "32");
	ck_assert_str_eq(sul_netcfg_get(&back, 1, "size"), "3");
	ck_assert_ptr_null(sul_netcfg_get(&back, 1, "pad"));
	ck_assert_str_eq(sul_netcfg_get(&back, 4, "output"), "3");
	ck_assert_int_eq(sul_netcfg_classes(&back), 3);

	/* The text: header comment lines, then "[net]" with the alias resolved below. */
	ck_assert_msg(sul_read_file(out, &b, &err) == 0, "%s", err.msg);
	ck_assert_msg(!strncmp(b.buf, "# written by a test\n# second line\n[net]\n", 40), "%s", b.buf);
	for (p = b.buf; *p != '['; p = strchr(p, '\n') + 1)
		ck_assert_int_eq(*p, '#');
	ck_assert_ptr_nonnull(strstr(b.buf, "\n[convolutional]\n"));
	ck_assert_ptr_null(strstr(b.buf, "[conv]"));
	ck_assert_ptr_null(strstr(b.buf, "pad="));
	sul_buf_release(&b);

	/* Without a header, the file starts with [net]. */
	ck_assert_int_eq(sul_netcfg_write(&cfg, NULL, out, &err), 0);
	ck_assert_int_eq(sul_read_file(out, &b, &err), 0);
	ck_assert_msg(!strncmp(b.buf, "[net]\n", 6), "%s", b.buf);
	sul_buf_release(&b);

	sul_netcfg_release(&back);
	sul_netcfg_release(&cfg);
	free(out);
	tu_cleanup();
}
END_TEST

/* Darknet takes the last of repeated keys; set replaces all of them. */
START_TEST(repeated_keys)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();

	ck_assert_int_eq(read_text(dir, "r.cfg", "[net]\nbatch=1\nbatch=2\n[conv]\nfilters=3\n[avg]\n[softmax]\n", &cfg,
				   &err),
			 0);
	ck_assert_str_eq(sul_netcfg_get(&cfg, 0, "batch"), "2");
	ck_assert_uint_eq(cfg.sec[0].nopts, 2);
	sul_netcfg_set(&cfg, 0, "batch", "3");
	ck_assert_uint_eq(cfg.sec[0].nopts, 1);
	ck_assert_str_eq(sul_netcfg_get(&cfg, 0, "batch"), "3");
	sul_netcfg_unset(&cfg, 0, "batch");
	ck_assert_uint_eq(cfg.sec[0].nopts, 0);
	ck_assert_ptr_null(sul_netcfg_get(&cfg, 0, "batch"));
	sul_netcfg_release(&cfg);
	tu_cleanup();
}
END_TEST

/* What Darknet would crash on (segfault, division by zero) or silently
 * replace, found by feeding it nonsense: each refused with its line.  The
 * network around each defect, with its line numbers:
 *   1 [net] 2 width=W 3 height=W 4 channels=3 5 [convolutional] 6 filters=4
 *   7 size=3 8 pad=1 9 activation=leaky 10 [LAYER] 11 KEY=VALUE 12 [avgpool]
 *   13 [connected] 14 output=3 15 [softmax] */
static const struct {
	const char *layer, *kv;
	int width;
	const char *msg;   /* after PATH: */
} meanings[] = {
	{ "convolutional", "filters=-3", 16, "11: [convolutional]: filters=-3: expected a value from 1 to" },
	{ "convolutional", "filters=0", 16, "11: [convolutional]: filters=0: expected a value from 1 to" },
	{ "convolutional", "size=0", 16, "11: [convolutional]: size=0: expected a value from 1 to 1024" },
	{ "convolutional", "pad=-5", 16, "11: [convolutional]: pad=-5: expected a value from 0 to 1" },
	{ "convolutional", "activation=bogus", 16, "11: [convolutional]: activation=bogus: expected one of logistic," },
	{ "convolutional", "activation=leakey", 16, "(did you mean 'leaky'?) (Darknet would use relu)" },
	{ "convolutional", "groups=3", 16, "11: [convolutional]: groups=3: expected a divisor of both the input's 4 "
					   "channels and filters=1" },
	{ "convolutional", "size=19", 16, "11: [convolutional]: size=19 with padding 0 does not fit its 16x16 input" },
	{ "maxpool", "size=0", 16, "11: [maxpool]: size=0: expected a value from 1 to 1024" },
	{ "maxpool", "stride=0", 16, "11: [maxpool]: stride=0: expected a value from 1 to 1024" },
	{ "maxpool", "size=40\npadding=0", 16, "11: [maxpool]: size=40 with padding 0 does not fit its 16x16 input" },
	{ "route", "layers=-40", 16, "11: [route]: layers=-40: layer -39 is not an earlier layer (this is layer 1: "
				     "expected -1 to -1, or 0 to 0)" },
	{ "route", "layers=0,99", 16, "11: [route]: layers=0,99: layer 99 is not an earlier layer" },
	{ "shortcut", "from=-100", 16, "11: [shortcut]: from=-100: layer -99 is not an earlier layer" },
	{ "shortcut", "alpha=1", 16, "10: [shortcut]: expected from=LAYER" },
	{ "softmax", "groups=1", 16, "10: [softmax]: [softmax] must be the last layer" },
	{ "dropout", "probability=2", 16, "11: [dropout]: probability=2: expected a value from 0 to 1 (excluded)" },
	{ "dropout", "probability=1", 16, "11: [dropout]: probability=1: expected a value from 0 to 1 (excluded)" },
	{ "convolutional", "size=5", 2, "11: [convolutional]: size=5 with padding 0 does not fit its 2x2 input" },
};

START_TEST(refuses_what_darknet_would_misbuild)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();
	size_t i;

	for (i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++) {
		char name[32], *text, *path, *want;
		snprintf(name, sizeof(name), "m%zu.cfg", i);
		text = sul_xasprintf("[net]\nwidth=%d\nheight=%d\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\n"
				     "activation=leaky\n[%s]\n%s\n[avgpool]\n[connected]\noutput=3\n[softmax]\n",
				     meanings[i].width, meanings[i].width, meanings[i].layer, meanings[i].kv);
		path = sul_xasprintf("%s/%s", dir, name);
		want = sul_xasprintf("%s:%s", path, meanings[i].msg);
		sul_err_clear(&err);
		ck_assert_msg(read_text(dir, name, text, &cfg, &err) == -1, "%s: accepted [%s] %s", name,
			      meanings[i].layer, meanings[i].kv);
		ck_assert_int_eq(err.kind, SUL_ERR_INPUT);
		if (meanings[i].msg[0] == '(')
			ck_assert_msg(strstr(err.msg, meanings[i].msg) != NULL, "%s", err.msg);
		else
			ck_assert_msg(!strncmp(err.msg, want, strlen(want)), "expected '%s...', got '%s'", want, err.msg);
		free(text);
		free(path);
		free(want);
	}
	tu_cleanup();
}
END_TEST

/* Layers Darknet builds right, for contrast: each of the checks above lets
 * the good value through (and references resolve without sizes too). */
START_TEST(accepts_what_darknet_builds)
{
	static const char *const good[] = {
		"[net]\nwidth=16\nheight=16\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
		"[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\n[shortcut]\nfrom=-2\nactivation=linear\n"
		"[route]\nlayers=-1,1\n[dropout]\nprobability=0.5\n[avgpool]\n[connected]\noutput=3\n[softmax]\ngroups=1\n",
		"[net]\n[convolutional]\nfilters=4\n[route]\nlayers=0\n[shortcut]\nfrom=0\n[avgpool]\n[connected]\noutput=2\n"
		"[softmax]\n",
	};
	struct sul_err err = SUL_ERR_INIT;
	struct sul_netcfg cfg;
	char *dir = tu_tmpdir();
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(read_text(dir, "good.cfg", good[i], &cfg, &err) == 0, "%zu: %s", i, err.msg);
		sul_netcfg_release(&cfg);
	}
	tu_cleanup();
}
END_TEST

SUL_SUITE(netcfg)
{
	Suite *s = suite_create("netcfg");
	TCase *tc = tcase_create("netcfg");

	tcase_add_test(tc, accepts_a_small_classifier);
	tcase_add_test(tc, whitespace_inside_lines_is_removed);
	tcase_add_test(tc, accepts_every_cfg_of_the_repository);
	tcase_add_test(tc, refuses_with_file_and_line);
	tcase_add_test(tc, unknown_key_lists_the_keys);
	tcase_add_test(tc, refuses_what_is_not_a_classifier);
	tcase_add_test(tc, classes_from_the_last_layer);
	tcase_add_test(tc, set_unset_write_round_trip);
	tcase_add_test(tc, repeated_keys);
	tcase_add_test(tc, refuses_what_darknet_would_misbuild);
	tcase_add_test(tc, accepts_what_darknet_builds);
	suite_add_tcase(s, tc);
	return s;
}
