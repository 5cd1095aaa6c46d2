/*
 * cmd_gc.c - `sulcus gc`: remove cache entries that no recent run needs.
 *
 * An entry is kept when an execution (ran or cached) of one of the last N
 * runs used it.  Removal renames the entry into tmp/ first and deletes it
 * there, so a crash mid-way never leaves a half-deleted entry in the cache.
 * The provenance rows stay; only the files (and the rows listing them) go.
 */
#include "cmd.h"
#include "fsutil.h"
#include "hash.h"
#include "strbuf.h"
#include "strmap.h"
#include "workspace.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_key(const char *name)
{
	return strlen(name) == SUL_HEX_LEN && !name[strspn(name, "0123456789abcdef")];
}

int cmd_gc(int argc, char **argv, struct sul_err *err)
{
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct sul_workspace ws;
	struct sul_strmap keep = SUL_STRMAP_INIT;
	char **kept = NULL;
	size_t nkept = 0, removed = 0, i;
	unsigned long long bytes = 0;
	const char *workdir = NULL;
	long nruns = 10;
	int c, r, dry = 0, status = 3;
	sqlite3_stmt *st;
	struct dirent *de;
	DIR *d = NULL;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'k':
			nruns = strtol(optarg, &end, 10);
			if (!*optarg || *end || nruns < 0) {
				sul_err_set(err, SUL_ERR_INPUT, "gc: --keep: expected a number of runs, got '%s'", optarg);
				return 2;
			}
			break;
		case 'w': workdir = optarg; break;
		case 'n': dry = 1; break;
		default:
			sul_err_set(err, SUL_ERR_INPUT, "gc: unknown option '%s'", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		sul_err_set(err, SUL_ERR_INPUT, "gc: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (sul_workspace_open(workdir, SUL_WS_WRITE, &ws, err))
		return sul_err_exit_code(err);
	st = sul_db_stmt(ws.db, err,
			 "SELECT DISTINCT cache_key FROM executions WHERE status IN ('ran', 'cached') AND run_id IN "
			 "(SELECT id FROM runs ORDER BY id DESC LIMIT ?1)",
			 "i", (long long)nruns);
	if (!st)
		goto out;
	/* A read that fails must stop gc: a short keep-set removes what recent runs used. */
	while ((r = sul_db_step(ws.db, st, err)) > 0) {
		kept = sul_xrealloc(kept, (nkept + 1) * sizeof(*kept));
		kept[nkept] = sul_xstrdup(sul_db_text(st, 0));
		sul_strmap_put(&keep, kept[nkept], 1);
		nkept++;
	}
	sqlite3_reset(st);
	if (r < 0)
		goto out;
	d = opendir(ws.cache_dir);
	if (!d) {
		sul_err_sys(err, "cannot read '%s'", ws.cache_dir);
		goto out;
	}
	if (sul_db_begin(ws.db, err))
		goto out;
	while ((de = readdir(d))) {
		char *entry, *trash;
		struct sul_tree tree;
		struct sul_err ignored = SUL_ERR_INIT;

		if (!is_key(de->d_name) || sul_strmap_get(&keep, de->d_name) >= 0)
			continue;
		entry = sul_xasprintf("%s/%s", ws.cache_dir, de->d_name);
		if (!sul_tree_scan(entry, 0, NULL, &tree, &ignored)) {
			bytes += tree.bytes;
			sul_tree_release(&tree);
		}
		removed++;
		if (dry) {
			free(entry);
			continue;
		}
		trash = sul_xasprintf("%s/gc.%s", ws.tmp_dir, de->d_name);
		if (rename(entry, trash) || sul_rmtree(trash, err)
		    || sul_db_exec(ws.db, err, "DELETE FROM outputs WHERE cache_key = ?1", "t", de->d_name)
		    || sul_db_exec(ws.db, err, "DELETE FROM artifacts WHERE cache_key = ?1", "t", de->d_name)) {
			if (!err->msg[0])
				sul_err_sys(err, "cannot remove '%s'", entry);
			free(entry);
			free(trash);
			sul_db_rollback(ws.db);
			goto out;
		}
		free(entry);
		free(trash);
	}
	if (sul_db_commit(ws.db, err))
		goto out;
	printf("gc: %s %zu cache entr%s (%.1f MiB); kept %zu used by the last %ld run%s\n",
	       dry ? "would remove" : "removed", removed, removed == 1 ? "y" : "ies",
	       (double)bytes / (1024.0 * 1024.0), nkept, nruns, nruns == 1 ? "" : "s");
	status = 0;
out:
	if (d)
		closedir(d);
	for (i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	sul_strmap_release(&keep);
	sul_workspace_close(&ws);
	return status;
}
