/*
 * db.h - the one owner of `sqlite3 *`: opening, migrations, transactions and
 * prepared statements.
 *
 * Write mode uses WAL, foreign keys and a busy timeout, and migrates the
 * schema (db/schema.sql, then db/migrate-N.sql, embedded at build time) each
 * step in BEGIN IMMEDIATE keyed by PRAGMA user_version.  Read-only mode is
 * what `sulcus query` and `plan` use: they cannot write even by mistake.
 * Statements are prepared once and cached by their SQL text's address, so
 * callers pass string literals.
 */
#ifndef SUL_DB_H
#define SUL_DB_H

#include <sqlite3.h>

#include "err.h"

struct sul_db;

#define SUL_DB_READONLY 1

/* The schema version this build writes. */
int sul_db_schema_version(void);

int sul_db_open(const char *path, int flags, struct sul_db **out, struct sul_err *err);
void sul_db_close(struct sul_db *db);
sqlite3 *sul_db_handle(struct sul_db *db);
const char *sul_db_path(const struct sul_db *db);

/*
 * Returns the cached statement for sql, reset and bound from fmt: one
 * character per argument, 'i' (long long), 'I' (int), 'd' (double),
 * 't' (const char *, NULL binds NULL), 'n' (NULL, no argument).
 * Returns NULL with err set on failure.
 */
sqlite3_stmt *sul_db_stmt(struct sul_db *db, struct sul_err *err, const char *sql, const char *fmt, ...);

/* Runs a statement to completion; *changes gets the row count when not NULL. */
int sul_db_exec(struct sul_db *db, struct sul_err *err, const char *sql, const char *fmt, ...);

/* Steps a statement from sul_db_stmt: 1 a row, 0 done, -1 error. */
int sul_db_step(struct sul_db *db, sqlite3_stmt *st, struct sul_err *err);

int sul_db_begin(struct sul_db *db, struct sul_err *err);
int sul_db_commit(struct sul_db *db, struct sul_err *err);
void sul_db_rollback(struct sul_db *db);

/* err for the current SQLite error of db, naming the statement. */
int sul_db_fail(struct sul_db *db, struct sul_err *err, const char *sql);

/* Column helpers that turn NULL into "" or 0. */
const char *sul_db_text(sqlite3_stmt *st, int col);

#endif
