/* check_cache.c - cache keys, atomic publishing, lookup, manifests. */
#include "check_util.h"
#include "../engine/cache.h"
#include "../engine/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const struct sul_kind sul_kind_command;

struct parts {
	struct sul_param params[2];
	struct sul_param keys[1];
	struct sul_named_digest inputs[1];
	struct sul_named_digest files[1];
	struct sul_key_parts p;
};

static void base(struct parts *x)
{
	memset(x, 0, sizeof(*x));
	x->params[0].name = (char *)"epochs";
	x->params[0].v.type = SUL_T_INT;
	x->params[0].v.i = 30;
	x->params[1].name = (char *)"lr";
	x->params[1].v.type = SUL_T_FLOAT;
	x->params[1].v.f = 0.1;
	x->keys[0].name = (char *)"command";
	x->keys[0].v.type = SUL_T_STRING;
	x->keys[0].v.s = (char *)"train {in.split}";
	x->inputs[0].name = "split";
	memset(x->inputs[0].digest, 'a', SUL_HEX_LEN);
	x->files[0].name = "cfg/vgg16.cfg";
	memset(x->files[0].digest, 'b', SUL_HEX_LEN);
	x->p.kind = &sul_kind_command;
	x->p.params = x->params;
	x->p.nparams = 2;
	x->p.keys = x->keys;
	x->p.nkeys = 1;
	x->p.inputs = x->inputs;
	x->p.ninputs = 1;
	x->p.files = x->files;
	x->p.nfiles = 1;
}

START_TEST(key_depends_on_every_part)
{
	struct parts x;
	sul_hex k0, k;

	base(&x);
	sul_cache_key(&x.p, k0);
	ck_assert_uint_eq(strlen(k0), 64);
	sul_cache_key(&x.p, k);
	ck_assert_str_eq(k, k0);

	x.params[0].v.i = 40;
	sul_cache_key(&x.p, k);
	ck_assert_str_ne(k, k0);

	base(&x);
	x.params[0].v.type = SUL_T_FLOAT;  /* 30 vs 30.0: different values */
	x.params[0].v.f = 30;
	sul_cache_key(&x.p, k);
	ck_assert_str_ne(k, k0);

	base(&x);
	x.keys[0].v.s = (char *)"train2 {in.split}";
	sul_cache_key(&x.p, k);
	ck_assert_str_ne(k, k0);

	base(&x);
	x.inputs[0].digest[0] = 'c';
	sul_cache_key(&x.p, k);
	ck_assert_str_ne(k, k0);

	base(&x);
	x.files[0].digest[0] = 'c';
	sul_cache_key(&x.p, k);
	ck_assert_str_ne(k, k0);

	base(&x);
	x.p.nfiles = 0;
	sul_cache_key(&x.p, k);
	ck_assert_str_ne(k, k0);
}
END_TEST

/* Length prefixes: moving bytes between two fields must change the key. */
START_TEST(key_fields_do_not_run_together)
{
	struct parts x;
	sul_hex k1, k2;

	base(&x);
	x.params[0].name = (char *)"ab";
	x.params[0].v.type = SUL_T_STRING;
	x.params[0].v.s = (char *)"c";
	sul_cache_key(&x.p, k1);
	x.params[0].name = (char *)"a";
	x.params[0].v.s = (char *)"bc";
	sul_cache_key(&x.p, k2);
	ck_assert_str_ne(k1, k2);
}
END_TEST

static char *make_staging(const char *root, const char *name, const char *content)
{
	char *staging = sul_xasprintf("%s/tmp/%s", root, name);
	char *out = sul_xasprintf("%s/out/sub", staging);
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sul_mkdirs(out, &err), 0);
	tu_write(out, "f.txt", content);
	free(out);
	return staging;
}

START_TEST(publish_is_atomic_and_idempotent)
{
	char *root = tu_tmpdir();
	char *cache = sul_xasprintf("%s/cache", root);
	struct sul_err err = SUL_ERR_INIT;
	sul_hex key, d1, d2, found;
	char *s1, *s2, *entry;
	struct sul_tree tree;

	memset(key, 'e', SUL_HEX_LEN);
	key[SUL_HEX_LEN] = '\0';
	ck_assert_int_eq(sul_mkdirs(cache, &err), 0);
	ck_assert_int_eq(sul_cache_lookup(cache, key, found, &err), 0);

	s1 = make_staging(root, "one", "hello\n");
	ck_assert_int_eq(sul_cache_publish(s1, cache, key, d1, &err), 0);
	ck_assert(!sul_path_exists(s1));
	entry = sul_xasprintf("%s/%s/out/sub/f.txt", cache, key);
	ck_assert(sul_path_exists(entry));
	ck_assert_int_eq(sul_cache_lookup(cache, key, found, &err), 1);
	ck_assert_str_eq(found, d1);

	/* A second publisher of the same key succeeds and leaves the first entry. */
	s2 = make_staging(root, "two", "hello\n");
	ck_assert_int_eq(sul_cache_publish(s2, cache, key, d2, &err), 0);
	ck_assert_str_eq(d1, d2);
	ck_assert(!sul_path_exists(s2));

	ck_assert_int_eq(sul_cache_read_manifest(cache, key, &tree, &err), 0);
	ck_assert_uint_eq(tree.n, 1);
	ck_assert_str_eq(tree.entries[0].path, "sub/f.txt");
	ck_assert_uint_eq(tree.entries[0].bytes, 6);
	/* sha256("hello\n") */
	ck_assert_str_eq(tree.entries[0].sha256, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	ck_assert_str_eq(tree.digest, d1);
	sul_tree_release(&tree);
	free(s1);
	free(s2);
	free(entry);
	free(cache);
}
END_TEST

START_TEST(publish_failure_leaves_no_entry)
{
	char *root = tu_tmpdir();
	char *cache = sul_xasprintf("%s/cache", root);
	char *staging = sul_xasprintf("%s/tmp/empty", root);
	struct sul_err err = SUL_ERR_INIT;
	sul_hex key, d, found;

	memset(key, 'f', SUL_HEX_LEN);
	key[SUL_HEX_LEN] = '\0';
	ck_assert_int_eq(sul_mkdirs(cache, &err), 0);
	ck_assert_int_eq(sul_mkdirs(staging, &err), 0);  /* no out/ inside */
	ck_assert_int_eq(sul_cache_publish(staging, cache, key, d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot read folder"));
	ck_assert_int_eq(sul_cache_lookup(cache, key, found, &err), 0);
	free(cache);
	free(staging);
}
END_TEST

/* An output of many files (past the count fsynced one by one, flushed by
 * one syncfs instead) publishes whole. */
START_TEST(publish_many_files)
{
	char *root = tu_tmpdir();
	char *cache = sul_xasprintf("%s/cache", root), *out = sul_xasprintf("%s/tmp/many/out", root);
	char *staging = sul_xasprintf("%s/tmp/many", root);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_tree tree;
	sul_hex key, d;
	int i;

	memset(key, 'a', SUL_HEX_LEN);
	key[SUL_HEX_LEN] = '\0';
	ck_assert_int_eq(sul_mkdirs(cache, &err), 0);
	ck_assert_int_eq(sul_mkdirs(out, &err), 0);
	for (i = 0; i < 200; i++) {
		char name[32];
		snprintf(name, sizeof(name), "slice_%03d.png", i);
		tu_write(out, name, name);
	}
	ck_assert_msg(sul_cache_publish(staging, cache, key, d, &err) == 0, "%s", err.msg);
	ck_assert(!sul_path_exists(staging));
	ck_assert_int_eq(sul_cache_read_manifest(cache, key, &tree, &err), 0);
	ck_assert_uint_eq(tree.n, 200);
	ck_assert_str_eq(tree.entries[199].path, "slice_199.png");
	ck_assert_str_eq(tree.digest, d);
	sul_tree_release(&tree);
	free(cache);
	free(out);
	free(staging);
}
END_TEST

START_TEST(output_digest_tracks_content_and_names)
{
	char *root = tu_tmpdir();
	struct sul_err err = SUL_ERR_INIT;
	struct sul_tree a, b, c;
	char *d1 = sul_xasprintf("%s/d1", root), *d2 = sul_xasprintf("%s/d2", root), *d3 = sul_xasprintf("%s/d3", root);

	sul_mkdirs(d1, &err);
	sul_mkdirs(d2, &err);
	sul_mkdirs(d3, &err);
	tu_write(d1, "x", "1");
	tu_write(d2, "x", "1");
	tu_write(d3, "y", "1");
	ck_assert_int_eq(sul_tree_scan(d1, 0, NULL, &a, &err), 0);
	ck_assert_int_eq(sul_tree_scan(d2, 0, NULL, &b, &err), 0);
	ck_assert_int_eq(sul_tree_scan(d3, 0, NULL, &c, &err), 0);
	ck_assert_str_eq(a.digest, b.digest);
	ck_assert_str_ne(a.digest, c.digest);
	sul_tree_release(&a);
	sul_tree_release(&b);
	sul_tree_release(&c);
	free(d1);
	free(d2);
	free(d3);
}
END_TEST

SUL_SUITE(cache)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("cache");

	tcase_add_checked_fixture(tc, NULL, tu_cleanup);
	tcase_add_test(tc, key_depends_on_every_part);
	tcase_add_test(tc, key_fields_do_not_run_together);
	tcase_add_test(tc, publish_is_atomic_and_idempotent);
	tcase_add_test(tc, publish_failure_leaves_no_entry);
	tcase_add_test(tc, publish_many_files);
	tcase_add_test(tc, output_digest_tracks_content_and_names);
	suite_add_tcase(s, tc);
	return s;
}
