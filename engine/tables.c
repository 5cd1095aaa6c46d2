/*
 * tables.c - the kinds' tables: created, rebuilt, and filled from stage
 * outputs; see tables.h.
 */
#include "tables.h"

#include "fsutil.h"
#include "strbuf.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 64

static int valid_name(const char *s)
{
	if (!*s || !((*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Splits line at tabs in place; returns the field count (at most max). */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *tab = strchr(line, '\t');
		f[n++] = line;
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

static int has_column(sqlite3 *h, const char *table, const char *col)
{
	char *sql = sqlite3_mprintf("SELECT 1 FROM pragma_table_info(%Q) WHERE name = %Q", table, col);
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return found;
}

static int import_one(struct sul_db *db, const char *path, const char *table, const char *key, struct sul_err *err)
{
	sqlite3 *h = sul_db_handle(db);
	struct sul_buf b = SUL_BUF_INIT, sql = SUL_BUF_INIT;
	char *cols[MAX_COLS], *f[MAX_COLS], *line, *next, *del;
	sqlite3_stmt *ins = NULL;
	size_t ncols, i, lineno = 1;
	int ret = -1;

	if (!has_column(h, table, "cache_key")) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: table '%s' is not in the database (dropped by hand?): "
					       "it comes back when kind_tables forgets it",
			    path, table);
		goto out;
	}
	if (sul_read_file(path, &b, err))
		goto out;
	line = b.buf;
	next = strchr(line, '\n');
	if (!next) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: no header line", path);
		goto out;
	}
	*next++ = '\0';
	ncols = split_tabs(line, cols, MAX_COLS);
	for (i = 0; i < ncols; i++)
		if (!valid_name(cols[i]) || !strcmp(cols[i], "cache_key") || !has_column(h, table, cols[i])) {
			sul_err_set(err, SUL_ERR_FAIL, "%s: column '%s' is not a column of table '%s'", path, cols[i],
				    table);
			goto out;
		}
	del = sqlite3_mprintf("DELETE FROM \"%w\" WHERE cache_key = ?1", table);
	if (sqlite3_prepare_v2(h, del, -1, &ins, NULL) != SQLITE_OK) {
		sqlite3_free(del);
		sul_db_fail(db, err, "DELETE");
		goto out;
	}
	sqlite3_free(del);
	sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		sul_db_fail(db, err, "DELETE");
		goto out;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	sul_buf_addf(&sql, "INSERT INTO \"%s\" (cache_key", table);
	for (i = 0; i < ncols; i++)
		sul_buf_addf(&sql, ", \"%s\"", cols[i]);
	sul_buf_adds(&sql, ") VALUES (?1");
	for (i = 0; i < ncols; i++)
		sul_buf_addf(&sql, ", ?%zu", i + 2);
	sul_buf_adds(&sql, ")");
	if (sqlite3_prepare_v2(h, sql.buf, -1, &ins, NULL) != SQLITE_OK) {
		sul_db_fail(db, err, sql.buf);
		goto out;
	}
	for (line = next; line && *line; line = next) {
		size_t n;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		n = split_tabs(line, f, MAX_COLS);
		if (n != ncols) {
			sul_err_set(err, SUL_ERR_FAIL, "%s:%zu: %zu fields, the header has %zu", path, lineno, n, ncols);
			goto out;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC);
		for (i = 0; i < n; i++) {
			if (*f[i])
				sqlite3_bind_text(ins, (int)i + 2, f[i], -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(ins, (int)i + 2);
		}
		if (sqlite3_step(ins) != SQLITE_DONE) {
			sul_db_fail(db, err, sql.buf);
			sul_err_prefix(err, "%s:%zu", path, lineno);
			goto out;
		}
	}
	ret = 0;
out:
	sqlite3_finalize(ins);
	sul_buf_release(&b);
	sul_buf_release(&sql);
	return ret;
}

static const struct sul_table_spec *declared(const struct sul_kind *kind, const char *name)
{
	const struct sul_table_spec *t;

	for (t = kind->tables; t && t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static void list_declared(const struct sul_kind *kind, struct sul_buf *b)
{
	const struct sul_table_spec *t;

	for (t = kind->tables; t && t->name; t++)
		sul_buf_addf(b, "%s%s", t == kind->tables ? "" : ", ", t->name);
	if (!b->len)
		sul_buf_adds(b, "none");
}

int sul_tables_import(struct sul_db *db, const struct sul_kind *kind, const char *out_dir, const char *key,
		      struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/tables", out_dir);
	struct dirent **names = NULL;
	int n, i, ret = 0;

	n = scandir(dir, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		char *name = names[i]->d_name, *dot = strrchr(name, '.');
		if (!ret && dot && !strcmp(dot, ".tsv")) {
			char *path = sul_xasprintf("%s/%s", dir, name);
			*dot = '\0';
			if (!declared(kind, name)) {
				struct sul_buf list = SUL_BUF_INIT;
				list_declared(kind, &list);
				ret = sul_err_set(err, SUL_ERR_FAIL, "%s: kind '%s' declares no table '%s' (it declares: %s)",
						  path, kind->name, name, list.buf);
				sul_buf_release(&list);
			} else {
				ret = import_one(db, path, name, key, err);
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	free(dir);
	return ret;
}

int sul_tables_check(const struct sul_kind *kind, const char *out_dir, struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/tables", out_dir);
	const struct sul_table_spec *t;
	struct sul_db *db = NULL;
	int ret = -1;

	if (!sul_path_exists(dir)) {
		ret = 0;
		goto out;
	}
	if (sul_db_open(":memory:", 0, &db, err))
		goto out;
	for (t = kind->tables; t && t->name; t++) {
		char *sql = sul_table_sql(t);
		int r = sqlite3_exec(sul_db_handle(db), sql, NULL, NULL, NULL);
		if (r != SQLITE_OK)
			sul_db_fail(db, err, sql);
		free(sql);
		if (r != SQLITE_OK)
			goto out;
	}
	ret = sul_tables_import(db, kind, out_dir, "check", err);
out:
	sul_db_close(db);
	free(dir);
	return ret;
}

char *sul_table_sql(const struct sul_table_spec *t)
{
	struct sul_buf b = SUL_BUF_INIT;

	sul_buf_addf(&b, "CREATE TABLE \"%s\" (\n  cache_key TEXT NOT NULL,\n  %s\n);\n", t->name, t->columns);
	sul_buf_addf(&b, "CREATE INDEX \"%s_by_key\" ON \"%s\" (cache_key%s%s);\n", t->name, t->name,
		     t->index ? ", " : "", t->index ? t->index : "");
	return sul_buf_detach(&b);
}

/* What the database knows of table name: 1 registered (*kind, *sql filled,
 * caller frees), 0 not, -1 error; *exists: whether the table is there. */
static int registered(struct sul_db *db, const char *name, char **kind, char **sql, int *exists,
		      struct sul_err *err)
{
	sqlite3_stmt *q = sul_db_stmt(db, err,
				      "SELECT (SELECT kind FROM kind_tables WHERE name = ?1), "
				      "(SELECT sql FROM kind_tables WHERE name = ?1), "
				      "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
				      "t", name);
	int r;

	if (!q)
		return -1;
	r = sul_db_step(db, q, err);
	if (r > 0) {
		*exists = sqlite3_column_int(q, 2);
		r = sqlite3_column_type(q, 0) != SQLITE_NULL;
		*kind = r ? sul_xstrdup(sul_db_text(q, 0)) : NULL;
		*sql = r ? sul_xstrdup(sul_db_text(q, 1)) : NULL;
	}
	sqlite3_reset(q);
	return r;
}

/* Loads table t's rows from every cache entry that a stage of kind recorded. */
static int reload(struct sul_db *db, const char *cache_dir, const struct sul_kind *kind,
		  const struct sul_table_spec *t, struct sul_err *err)
{
	sqlite3_stmt *q = sul_db_stmt(db, err,
				      "SELECT DISTINCT cache_key FROM executions WHERE kind = ?1 "
				      "AND status IN ('ran', 'cached') AND cache_key IN (SELECT cache_key FROM outputs)",
				      "t", kind->name);
	char **keys = NULL;
	size_t n = 0, alloc = 0, i;
	int r, ret = 0;

	if (!q)
		return -1;
	while ((r = sul_db_step(db, q, err)) > 0) {
		SUL_ALLOC_GROW(keys, n + 1, alloc);
		keys[n++] = sul_xstrdup(sul_db_text(q, 0));
	}
	sqlite3_reset(q);
	if (r < 0)
		ret = -1;
	for (i = 0; i < n; i++) {
		char *path = sul_xasprintf("%s/%s/out/tables/%s.tsv", cache_dir, keys[i], t->name);
		if (!ret && sul_path_exists(path))
			ret = import_one(db, path, t->name, keys[i], err);
		free(path);
		free(keys[i]);
	}
	free(keys);
	return ret;
}

/* Two kinds may not declare one table. */
static int check_unique(const struct sul_kind *const *kinds, size_t nkinds, struct sul_err *err)
{
	size_t a, b;
	const struct sul_table_spec *t;

	for (a = 0; a < nkinds; a++)
		for (t = kinds[a]->tables; t && t->name; t++) {
			if (!valid_name(t->name))
				return sul_err_set(err, SUL_ERR_FAIL, "kind '%s' declares table '%s': not a table name "
								      "([a-z_][a-z0-9_]*)",
						   kinds[a]->name, t->name);
			for (b = 0; b < nkinds; b++)
				if ((b != a && declared(kinds[b], t->name)) || (b == a && declared(kinds[a], t->name) != t))
					return sul_err_set(err, SUL_ERR_FAIL, "kinds '%s' and '%s' both declare table '%s'",
							   kinds[a]->name, kinds[b]->name, t->name);
		}
	return 0;
}

static int sync_one(struct sul_db *db, const char *cache_dir, const struct sul_kind *kind,
		    const struct sul_table_spec *t, struct sul_err *err)
{
	char *sql = sul_table_sql(t), *old_kind = NULL, *old_sql = NULL, *drop;
	int exists = 0, r, ret = -1;

	r = registered(db, t->name, &old_kind, &old_sql, &exists, err);
	if (r < 0)
		goto out;
	if (r && exists && !strcmp(old_kind, kind->name) && !strcmp(old_sql, sql)) {
		ret = 0;
		goto out;
	}
	if (!r && exists) {
		sul_err_set(err, SUL_ERR_FAIL, "kind '%s' declares table '%s', which the database holds already "
					       "and no kind owns (an engine table?): the kind must name its table otherwise",
			    kind->name, t->name);
		goto out;
	}
	/* New, or declared otherwise than the database knows it: the rows are
	 * the cache's, so the table is rebuilt from there. */
	drop = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\"", t->name);
	r = sqlite3_exec(sul_db_handle(db), drop, NULL, NULL, NULL) != SQLITE_OK
	    || sqlite3_exec(sul_db_handle(db), sql, NULL, NULL, NULL) != SQLITE_OK;
	sqlite3_free(drop);
	if (r) {
		sul_db_fail(db, err, sql);
		sul_err_prefix(err, "kind '%s', table '%s'", kind->name, t->name);
		goto out;
	}
	if (sul_db_exec(db, err, "INSERT OR REPLACE INTO kind_tables (name, kind, sql) VALUES (?1, ?2, ?3)", "ttt",
			t->name, kind->name, sql)
	    || reload(db, cache_dir, kind, t, err))
		goto out;
	ret = 0;
out:
	free(sql);
	free(old_kind);
	free(old_sql);
	return ret;
}

int sul_tables_sync(struct sul_db *db, const char *cache_dir, const struct sul_kind *const *kinds, size_t nkinds,
		    struct sul_err *err)
{
	const struct sul_table_spec *t;
	size_t i;

	if (check_unique(kinds, nkinds, err) || sul_db_begin(db, err))
		return -1;
	for (i = 0; i < nkinds; i++)
		for (t = kinds[i]->tables; t && t->name; t++)
			if (sync_one(db, cache_dir, kinds[i], t, err)) {
				sul_db_rollback(db);
				return -1;
			}
	return sul_db_commit(db, err);
}
