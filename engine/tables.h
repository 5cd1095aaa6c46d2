/*
 * tables.h - the database tables that stage kinds declare, and the rows
 * their stages publish into them.
 *
 * A kind lists its tables in its struct sul_kind (kind.h): name, columns,
 * index.  The engine's own schema (db/) knows none of them: when a writer
 * opens the workspace, sul_tables_sync creates each declared table, and
 * rebuilds one whose declaration changed since this database last saw it
 * (the registry table kind_tables keeps each table's kind and CREATE
 * statement) by reloading the rows from the cache entries still there.
 * A stage writes tables/NAME.tsv in its output (a header of column names,
 * then rows, tab-separated); when the output is recorded, each file's rows
 * go into table NAME with the output's cache_key in front.  An empty field
 * is NULL, other fields take the column's type (SQLite affinity).
 * Recording again (after `gc`, or into a new database) replaces the rows
 * of that cache key.
 */
#ifndef SUL_TABLES_H
#define SUL_TABLES_H

#include "db.h"
#include "err.h"
#include "kind.h"

/* Creates or rebuilds the tables of the kinds given (the workspace gives
 * every registered kind); see above.  Fails, changing nothing, when two
 * kinds declare one table or a declared table would replace one that no
 * kind owns (an engine table, say). */
int sul_tables_sync(struct sul_db *db, const char *cache_dir, const struct sul_kind *const *kinds, size_t nkinds,
		    struct sul_err *err);

/* Imports out_dir/tables/NAME.tsv files, each into a table that kind
 * declares; none is fine.  Call inside a transaction. */
int sul_tables_import(struct sul_db *db, const struct sul_kind *kind, const char *out_dir, const char *key,
		      struct sul_err *err);

/* What a stage's process checks before publishing: out_dir's tables load
 * into the tables kind declares (into a database of its own, in memory),
 * so that a malformed file fails the stage, not the engine's record. */
int sul_tables_check(const struct sul_kind *kind, const char *out_dir, struct sul_err *err);

/* The CREATE TABLE and CREATE INDEX statements of a declared table. */
char *sul_table_sql(const struct sul_table_spec *t);

#endif
