/*
 * tables.c - imports stage tables into the database; see tables.h.
 */
#include "tables.h"

#include "fsutil.h"
#include "strbuf.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

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

#define MAX_COLS 64

static int import_one(struct sul_db *db, const char *path, const char *table, const char *key, struct sul_err *err)
{
	sqlite3 *h = sul_db_handle(db);
	struct sul_buf b = SUL_BUF_INIT, sql = SUL_BUF_INIT;
	char *cols[MAX_COLS], *f[MAX_COLS], *line, *next, *del;
	sqlite3_stmt *ins = NULL;
	size_t ncols, i, lineno = 1;
	int ret = -1;

	if (!has_column(h, table, "cache_key")) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: no table '%s' with a cache_key column in the database schema (db/)",
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

int sul_tables_import(struct sul_db *db, const char *out_dir, const char *key, struct sul_err *err)
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
			if (!valid_name(name))
				ret = sul_err_set(err, SUL_ERR_FAIL, "%s: '%s' is not a table name ([a-z_][a-z0-9_]*)", path,
						  name);
			else
				ret = import_one(db, path, name, key, err);
			free(path);
		}
		free(names[i]);
	}
	free(names);
	free(dir);
	return ret;
}
