/* bids.c - a BIDS folder as it is found (see bids.h). */
#include "bids.h"
#include "../engine/fsutil.h"

#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const sul_bids_meta_keys[SUL_BIDS_NMETA] = {
	"MagneticFieldStrength", "Manufacturer", "ManufacturersModelName", "SequenceName",
	"RepetitionTime",        "EchoTime",     "InversionTime",          "FlipAngle",
};

static int all_alnum(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return n > 0;
}

int sul_bids_parse_name(const char *file, struct sul_bids_name *out)
{
	const char *p = file, *last = strrchr(file, '_'), *dot;

	memset(out, 0, sizeof(*out));
	if (!last)
		return -1;
	/* The entities: key-label pairs up to the last underscore. */
	while (p < last) {
		const char *us = strchr(p, '_'), *dash = memchr(p, '-', (size_t)(us - p));
		size_t klen, llen;
		if (!dash || out->n == SUL_BIDS_MAX_ENTITIES)
			return -1;
		klen = (size_t)(dash - p);
		llen = (size_t)(us - dash - 1);
		if (!all_alnum(p, klen) || !all_alnum(dash + 1, llen) || klen >= sizeof(out->key[0])
		    || llen >= sizeof(out->label[0]))
			return -1;
		memcpy(out->key[out->n], p, klen);
		memcpy(out->label[out->n], dash + 1, llen);
		out->n++;
		p = us + 1;
	}
	if (!out->n || strcmp(out->key[0], "sub"))
		return -1;
	/* The suffix, then the extension from the first dot. */
	dot = strchr(last + 1, '.');
	if (!dot || !all_alnum(last + 1, (size_t)(dot - last - 1)) || (size_t)(dot - last - 1) >= sizeof(out->suffix)
	    || strlen(dot) >= sizeof(out->ext))
		return -1;
	memcpy(out->suffix, last + 1, (size_t)(dot - last - 1));
	memcpy(out->ext, dot, strlen(dot) + 1);
	return 0;
}

const char *sul_bids_entity(const struct sul_bids_name *name, const char *key)
{
	size_t i;

	for (i = 0; i < name->n; i++)
		if (!strcmp(name->key[i], key))
			return name->label[i];
	return NULL;
}

int sul_bids_label_cmp(const char *a, const char *b)
{
	size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");

	if (na && !a[na] && nb && !b[nb]) {
		/* Both numbers: compare without leading zeros, then by length. */
		while (*a == '0' && a[1])
			a++;
		while (*b == '0' && b[1])
			b++;
		if (strlen(a) != strlen(b))
			return strlen(a) < strlen(b) ? -1 : 1;
	}
	return strcmp(a, b);
}

static int cmp_labels(const void *a, const void *b)
{
	return sul_bids_label_cmp(*(char *const *)a, *(char *const *)b);
}

void sul_bids_free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sul_bids_sessions(const char *bids, const char *sub, char ***labels, size_t *n, struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/%s", bids, sub);
	size_t alloc = 0;
	struct dirent *e;
	DIR *d;

	*labels = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d) {
		int r = errno == ENOENT ? 0 : sul_err_set(err, SUL_ERR_INPUT, "cannot read '%s': %s", dir, strerror(errno));
		free(dir);
		return r;
	}
	while ((e = readdir(d))) {
		char *path;
		if (strncmp(e->d_name, "ses-", 4) || !all_alnum(e->d_name + 4, strlen(e->d_name + 4)))
			continue;
		path = sul_xasprintf("%s/%s", dir, e->d_name);
		if (is_dir(path)) {
			SUL_ALLOC_GROW(*labels, *n + 1, alloc);
			(*labels)[(*n)++] = sul_xstrdup(e->d_name + 4);
		}
		free(path);
	}
	closedir(d);
	free(dir);
	if (*n > 1)
		qsort(*labels, *n, sizeof(**labels), cmp_labels);
	return 0;
}

/* A candidate image: its name and parsed entities. */
struct cand {
	char *file;
	struct sul_bids_name name;
	int dropped;
};

static int cmp_cand(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->file, ((const struct cand *)b)->file);
}

static const char *entity_or_empty(const struct sul_bids_name *name, const char *key)
{
	const char *l = sul_bids_entity(name, key);
	return l ? l : "";
}

/* Whether a and b name the same entities with the same labels, run and
 * the extension aside. */
static int same_but_run(const struct sul_bids_name *a, const struct sul_bids_name *b)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->key[i], "run") && strcmp(entity_or_empty(b, a->key[i]), a->label[i]))
			return 0;
	for (i = 0; i < b->n; i++)
		if (strcmp(b->key[i], "run") && !sul_bids_entity(a, b->key[i]))
			return 0;
	return 1;
}

static size_t live(const struct cand *c, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += !c[i].dropped;
	return k;
}

/* The distinct labels of key among the live candidates, for messages. */
static void list_labels(const struct cand *c, size_t n, const char *key, struct sul_buf *out)
{
	size_t i, j;
	int first = 1;

	for (i = 0; i < n; i++) {
		const char *l = entity_or_empty(&c[i].name, key);
		if (c[i].dropped)
			continue;
		for (j = 0; j < i && (c[j].dropped || strcmp(entity_or_empty(&c[j].name, key), l)); j++)
			;
		if (j < i)
			continue;
		sul_buf_addf(out, "%s%s", first ? "" : ", ", *l ? l : "none");
		first = 0;
	}
}

int sul_bids_find_image(const char *bids, const char *sub, const char *ses, const char *suffix,
			const struct sul_bids_pick *pick, struct sul_buf *rel, struct sul_buf *why,
			struct sul_err *err)
{
	static const char *const filtered[3] = { "acq", "ce", "rec" };
	const char *filter[3] = { pick->acq, pick->ce, pick->rec };
	char *dir = ses && *ses ? sul_xasprintf("%s/%s/ses-%s/anat", bids, sub, ses) : sul_xasprintf("%s/%s/anat", bids, sub);
	struct cand *c = NULL;
	size_t n = 0, alloc = 0, i, j, found;
	struct dirent *e;
	int ret = 0, f;
	DIR *d;

	sul_buf_reset(rel);
	sul_buf_reset(why);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			sul_buf_addf(why, "no folder %s", dir + strlen(bids) + 1);
		else
			ret = sul_err_set(err, SUL_ERR_INPUT, "cannot read '%s': %s", dir, strerror(errno));
		free(dir);
		return ret;
	}
	while ((e = readdir(d))) {
		struct sul_bids_name nm;
		const char *s;
		if (sul_bids_parse_name(e->d_name, &nm) || strcmp(nm.suffix, suffix)
		    || (strcmp(nm.ext, ".nii.gz") && strcmp(nm.ext, ".nii")) || strcmp(nm.label[0], sub + 4))
			continue;
		s = sul_bids_entity(&nm, "ses");
		if (ses && *ses ? !s || strcmp(s, ses) : s != NULL)
			continue;
		SUL_ALLOC_GROW(c, n + 1, alloc);
		c[n].file = sul_xstrdup(e->d_name);
		c[n].name = nm;
		c[n].dropped = 0;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(c, n, sizeof(*c), cmp_cand);  /* messages in a stable order */
	found = n;
	/* The filters the user gave. */
	for (f = 0; f < 3; f++)
		if (filter[f] && *filter[f])
			for (i = 0; i < n; i++)
				c[i].dropped |= strcmp(entity_or_empty(&c[i].name, filtered[f]), filter[f]) != 0;
	if (!live(c, n)) {
		sul_buf_addf(why, "no %s image in %s", suffix, dir + strlen(bids) + 1);
		if (found)
			sul_buf_addf(why, " matching parameters acq/ce/rec ('%s', '%s', '%s'; %zu %s image%s there)",
				     pick->acq, pick->ce, pick->rec, found, suffix, found == 1 ? "" : "s");
		goto out;
	}
	/* Where acquisitions differ in an unfiltered entity, the one without it. */
	for (f = 0; f < 3; f++) {
		int with = 0, without = 0;
		if (filter[f] && *filter[f])
			continue;
		for (i = 0; i < n; i++)
			if (!c[i].dropped)
				*(sul_bids_entity(&c[i].name, filtered[f]) ? &with : &without) += 1;
		if (with && without)
			for (i = 0; i < n; i++)
				c[i].dropped |= sul_bids_entity(&c[i].name, filtered[f]) != NULL;
	}
	/* Whatever still differs but the run cannot be chosen by a rule. */
	for (i = 0; i < n; i++) {
		if (c[i].dropped)
			continue;
		for (j = i + 1; j < n; j++) {
			size_t k;
			if (c[j].dropped || same_but_run(&c[i].name, &c[j].name))
				continue;
			sul_buf_addf(why, "%zu %s images in %s differ in more than their run:", live(c, n), suffix,
				     dir + strlen(bids) + 1);
			for (k = 0; k < n; k++)
				if (!c[k].dropped)
					sul_buf_addf(why, " %s", c[k].file);
			sul_buf_adds(why, " (choose with parameters acq, ce or rec)");
			goto out;
		}
	}
	/* The same name as .nii and .nii.gz: the compressed one. */
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (i != j && !c[i].dropped && !c[j].dropped && !strcmp(c[i].name.ext, ".nii")
			    && !strcmp(c[j].name.ext, ".nii.gz")
			    && !strcmp(entity_or_empty(&c[i].name, "run"), entity_or_empty(&c[j].name, "run")))
				c[i].dropped = 1;
	/* The run. */
	{
		const char *rule = pick->run && *pick->run ? pick->run : "last";
		size_t best = n;
		for (i = 0; i < n; i++) {
			const char *r;
			if (c[i].dropped)
				continue;
			r = entity_or_empty(&c[i].name, "run");
			if (!strcmp(rule, "last") || !strcmp(rule, "first")) {
				int cmp = best == n ? 0 : sul_bids_label_cmp(r, entity_or_empty(&c[best].name, "run"));
				if (best == n || (!strcmp(rule, "last") ? cmp > 0 : cmp < 0))
					best = i;
			} else if (!sul_bids_label_cmp(r, rule)) {
				best = i;
			}
		}
		if (best == n) {
			sul_buf_addf(why, "no run '%s' of %s in %s (runs: ", rule, suffix, dir + strlen(bids) + 1);
			list_labels(c, n, "run", why);
			sul_buf_adds(why, "; parameter 'run')");
			goto out;
		}
		sul_buf_addf(rel, "%s/%s", dir + strlen(bids) + 1, c[best].file);
		if (live(c, n) > 1) {
			sul_buf_addf(why, "run %s of ", entity_or_empty(&c[best].name, "run"));
			list_labels(c, n, "run", why);
			sul_buf_addf(why, " (rule: %s)", rule);
		} else {
			sul_buf_adds(why, found > 1 ? "the default acquisition" : "the only one");
		}
		if (found > 1)
			sul_buf_addf(why, "; %zu %s images found", found, suffix);
		ret = 1;
	}
out:
	for (i = 0; i < n; i++)
		free(c[i].file);
	free(c);
	free(dir);
	return ret;
}

int sul_bids_json_get(const char *path, const char *const *keys, size_t nkeys, char (*values)[128],
		      struct sul_err *err)
{
	struct sul_buf text = SUL_BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = -1;
	size_t k;

	for (k = 0; k < nkeys; k++)
		values[k][0] = '\0';
	if (!sul_path_exists(path))
		return 1;
	if (sul_read_file(path, &text, err))
		return -1;
	/* SQLite's JSON functions: the project's one JSON reader. */
	if (sqlite3_open(":memory:", &db) != SQLITE_OK
	    || sqlite3_prepare_v2(db, "SELECT json_valid(?1) AND json_type(?1) = 'object'", -1, &st, NULL) != SQLITE_OK) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: cannot read JSON (SQLite: %s)", path, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, text.buf, (int)text.len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW || !sqlite3_column_int(st, 0)) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: not a valid JSON object", path);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT json_extract(?1, '$.\"' || ?2 || '\"')", -1, &st, NULL) != SQLITE_OK) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: cannot read JSON (SQLite: %s)", path, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, text.buf, (int)text.len, SQLITE_STATIC);
	for (k = 0; k < nkeys; k++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 2, keys[k], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
			const char *v = (const char *)sqlite3_column_text(st, 0);
			size_t i;
			snprintf(values[k], sizeof(values[k]), "%s", v ? v : "");
			/* Table cells: no tabs or line breaks. */
			for (i = 0; values[k][i]; i++)
				if (values[k][i] == '\t' || values[k][i] == '\n' || values[k][i] == '\r')
					values[k][i] = ' ';
		}
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	sul_buf_release(&text);
	return ret;
}

/* Whether sidecar name s applies to image name im: same suffix, and
 * every entity of s is im's with the same label. */
static int applies(const struct sul_bids_name *s, const struct sul_bids_name *im)
{
	size_t i;

	if (strcmp(s->suffix, im->suffix) || strcmp(s->ext, ".json"))
		return 0;
	for (i = 0; i < s->n; i++) {
		const char *l = sul_bids_entity(im, s->key[i]);
		if (!l || strcmp(l, s->label[i]))
			return 0;
	}
	return 1;
}

/* The sidecar names of one folder that apply to im, least specific first. */
static void sidecars_in(const char *dir, const struct sul_bids_name *im, int top, char ***out, size_t *n,
			size_t *alloc)
{
	size_t first = *n, i, j;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct sul_bids_name s;
		size_t len = strlen(e->d_name);
		/* At the top level a sidecar may have no entities: T1w.json. */
		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		if (sul_bids_parse_name(e->d_name, &s)) {
			char *full = sul_xasprintf("sub-x_%s", e->d_name);
			int ok = top && !sul_bids_parse_name(full, &s);
			free(full);
			if (!ok)
				continue;
			/* Drop the placeholder subject. */
			memmove(s.key, s.key + 1, (s.n - 1) * sizeof(s.key[0]));
			memmove(s.label, s.label + 1, (s.n - 1) * sizeof(s.label[0]));
			s.n--;
		}
		if (!applies(&s, im))
			continue;
		SUL_ALLOC_GROW(*out, *n + 1, *alloc);
		(*out)[(*n)++] = sul_xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	/* Fewer entities first (a shorter name is less specific), then by name. */
	for (i = first + 1; i < *n; i++)
		for (j = i; j > first && (strlen((*out)[j - 1]) > strlen((*out)[j])
					  || (strlen((*out)[j - 1]) == strlen((*out)[j]) && strcmp((*out)[j - 1], (*out)[j]) > 0));
		     j--) {
			char *t = (*out)[j];
			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
}

int sul_bids_sidecar(const char *bids, const char *rel, struct sul_bids_meta *meta, struct sul_err *err)
{
	const char *file = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	char **paths = NULL, *dir;
	size_t n = 0, alloc = 0, i, k;
	struct sul_bids_name im;
	const char *ses;
	int ret = 0;

	memset(meta, 0, sizeof(*meta));
	if (sul_bids_parse_name(file, &im))
		return 0;
	ses = sul_bids_entity(&im, "ses");
	/* Dataset, subject, session, then the image's own folder. */
	sidecars_in(bids, &im, 1, &paths, &n, &alloc);
	dir = sul_xasprintf("%s/sub-%s", bids, im.label[0]);
	sidecars_in(dir, &im, 0, &paths, &n, &alloc);
	free(dir);
	if (ses) {
		dir = sul_xasprintf("%s/sub-%s/ses-%s", bids, im.label[0], ses);
		sidecars_in(dir, &im, 0, &paths, &n, &alloc);
		free(dir);
	}
	dir = sul_xasprintf("%s/%.*s", bids, (int)(file - rel - 1), rel);
	sidecars_in(dir, &im, 0, &paths, &n, &alloc);
	free(dir);
	/* Later (deeper, more specific) files override earlier ones key by key. */
	for (i = 0; i < n && !ret; i++) {
		char values[SUL_BIDS_NMETA][128];
		if (sul_bids_json_get(paths[i], sul_bids_meta_keys, SUL_BIDS_NMETA, values, err) < 0) {
			ret = -1;
			break;
		}
		meta->nsidecars++;
		for (k = 0; k < SUL_BIDS_NMETA; k++)
			if (values[k][0])
				memcpy(meta->value[k], values[k], sizeof(values[k]));
	}
	sul_bids_free_list(paths, n);
	return ret;
}
