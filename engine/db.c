/* db.c - SQLite connection, migrations, statements (see db.h). */
#include "db.h"
#include "fault.h"
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated from db/schema.sql and db/migrate-*.sql (see the Makefile). */
extern const char *const sul_migrations[];
extern const int sul_nmigrations;

struct cached_stmt {
	const char *sql;
	sqlite3_stmt *st;
};

struct sul_db {
	sqlite3 *h;
	char *path;
	struct cached_stmt *stmts;
	size_t nstmts, alloc;
};

int sul_db_schema_version(void)
{
	return sul_nmigrations;
}

int sul_db_fail(struct sul_db *db, struct sul_err *err, const char *sql)
{
	const char *msg = db->h ? sqlite3_errmsg(db->h) : "out of memory";
	char shown[120];

	if (!sql)
		return sul_err_set(err, SUL_ERR_FAIL, "database '%s': %s", db->path, msg);
	snprintf(shown, sizeof(shown), "%s", sql);
	for (char *p = shown; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return sul_err_set(err, SUL_ERR_FAIL, "database '%s': %s (in: %s%s)", db->path, msg, shown,
			   strlen(sql) >= sizeof(shown) ? "..." : "");
}

static int exec_script(struct sul_db *db, const char *sql, struct sul_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sul_err_set(err, SUL_ERR_FAIL, "database '%s': %s", db->path, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int user_version(struct sul_db *db, int *v, struct sul_err *err)
{
	sqlite3_stmt *st = sul_db_stmt(db, err, "PRAGMA user_version", "");
	int r;

	if (!st)
		return -1;
	r = sul_db_step(db, st, err);
	if (r < 0)
		return -1;
	*v = r ? sqlite3_column_int(st, 0) : 0;
	sqlite3_reset(st);
	return 0;
}

/* Every migration still to apply runs in one BEGIN IMMEDIATE, which
 * re-reads the version inside it: two processes opening a new database do
 * not both apply one, and a reader never sees a schema half-way (it waits,
 * or sees the old version whole). */
static int migrate(struct sul_db *db, struct sul_err *err)
{
	char bump[64];
	int v;

	if (sul_db_begin(db, err))
		return -1;
	if (user_version(db, &v, err))
		goto fail;
	if (v > sul_nmigrations) {
		sul_err_set(err, SUL_ERR_FAIL,
			    "database '%s' has schema version %d, newer than this sulcus (%d): use a newer sulcus",
			    db->path, v, sul_nmigrations);
		goto fail;
	}
	if (v == sul_nmigrations) {
		sul_db_rollback(db);
		return 0;
	}
	for (; v < sul_nmigrations; v++)
		if (exec_script(db, sul_migrations[v], err)) {
			sul_err_prefix(err, "migrating to schema version %d", v + 1);
			goto fail;
		}
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v);
	if (exec_script(db, bump, err) || sul_db_commit(db, err))
		goto fail;
	return 0;
fail:
	sul_db_rollback(db);
	return -1;
}

int sul_db_open(const char *path, int flags, struct sul_db **out, struct sul_err *err)
{
	struct sul_db *db = sul_xcalloc(1, sizeof(*db));
	int oflags = (flags & SUL_DB_READONLY) ? SQLITE_OPEN_READONLY
					       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	db->path = sul_xstrdup(path);
	if (sqlite3_open_v2(path, &db->h, oflags, NULL) != SQLITE_OK) {
		sul_db_fail(db, err, NULL);
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 30000);
	if (flags & SUL_DB_READONLY) {
		int v;
		if (user_version(db, &v, err))
			goto fail;
		if (v == 0) {
			/* Created, its schema not yet committed (migrate()). */
			sul_err_set(err, SUL_ERR_FAIL,
				    "database '%s' holds no results yet: the first `sulcus run` is creating it", path);
			goto fail;
		}
		if (v != sul_nmigrations) {
			sul_err_set(err, SUL_ERR_FAIL,
				    "database '%s' has schema version %d, this sulcus reads %d%s", path, v,
				    sul_nmigrations, v < sul_nmigrations ? ": a `sulcus run` upgrades it" : "");
			goto fail;
		}
	} else {
		/* WAL lets `sulcus query` read while a run writes; NORMAL sync is
		 * crash-consistent in WAL mode (a power loss may drop the last commit). */
		if (exec_script(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
				    "PRAGMA foreign_keys=ON;", err))
			goto fail;
		if (migrate(db, err))
			goto fail;
	}
	*out = db;
	return 0;
fail:
	sul_db_close(db);
	return -1;
}

void sul_db_close(struct sul_db *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < db->nstmts; i++)
		sqlite3_finalize(db->stmts[i].st);
	free(db->stmts);
	sqlite3_close(db->h);
	free(db->path);
	free(db);
}

sqlite3 *sul_db_handle(struct sul_db *db)
{
	return db->h;
}

const char *sul_db_path(const struct sul_db *db)
{
	return db->path;
}

static sqlite3_stmt *vstmt(struct sul_db *db, struct sul_err *err, const char *sql, const char *fmt,
			   va_list ap)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int col = 1, rc = SQLITE_OK;

	for (i = 0; i < db->nstmts; i++)
		if (db->stmts[i].sql == sql) {
			st = db->stmts[i].st;
			break;
		}
	if (!st) {
		if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
			sul_db_fail(db, err, sql);
			return NULL;
		}
		SUL_ALLOC_GROW(db->stmts, db->nstmts + 1, db->alloc);
		db->stmts[db->nstmts].sql = sql;
		db->stmts[db->nstmts++].st = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (; *fmt && rc == SQLITE_OK; fmt++, col++) {
		switch (*fmt) {
		case 'i': rc = sqlite3_bind_int64(st, col, va_arg(ap, long long)); break;
		case 'I': rc = sqlite3_bind_int(st, col, va_arg(ap, int)); break;
		case 'd': rc = sqlite3_bind_double(st, col, va_arg(ap, double)); break;
		case 't': {
			const char *s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, col);
			break;
		}
		case 'n': rc = sqlite3_bind_null(st, col); break;
		default: rc = SQLITE_MISUSE;
		}
	}
	if (rc != SQLITE_OK) {
		sul_db_fail(db, err, sql);
		return NULL;
	}
	return st;
}

sqlite3_stmt *sul_db_stmt(struct sul_db *db, struct sul_err *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vstmt(db, err, sql, fmt, ap);
	va_end(ap);
	return st;
}

int sul_db_step(struct sul_db *db, sqlite3_stmt *st, struct sul_err *err)
{
	int rc;

	if (sul_fault_fail("sqlite")) {
		sqlite3_reset(st);
		return sul_err_set(err, SUL_ERR_FAIL, "database '%s': database or disk is full (injected)", db->path);
	}
	rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	sul_db_fail(db, err, sqlite3_sql(st));
	sqlite3_reset(st);
	return -1;
}

int sul_db_exec(struct sul_db *db, struct sul_err *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r;

	va_start(ap, fmt);
	st = vstmt(db, err, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	while ((r = sul_db_step(db, st, err)) > 0)
		;
	sqlite3_reset(st);
	return r;
}

int sul_db_begin(struct sul_db *db, struct sul_err *err)
{
	return sul_db_exec(db, err, "BEGIN IMMEDIATE", "");
}

int sul_db_commit(struct sul_db *db, struct sul_err *err)
{
	return sul_db_exec(db, err, "COMMIT", "");
}

void sul_db_rollback(struct sul_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

const char *sul_db_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}
