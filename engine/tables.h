/*
 * tables.h - rows that a stage publishes for the database.
 *
 * A stage may write tables/NAME.tsv in its output: a header of column names,
 * then rows, tab-separated.  When the output is recorded, each file's rows
 * go into the database table NAME, which a migration in db/ defines with a
 * cache_key column plus the file's columns; an empty field is NULL, other
 * fields take the column's type (SQLite affinity).  So the engine stays
 * ignorant of what the rows mean, and the schema stays documented in db/.
 * Recording again (after `gc`, or into a new database) replaces the rows
 * of that cache key.
 */
#ifndef SUL_TABLES_H
#define SUL_TABLES_H

#include "db.h"
#include "err.h"

/* Imports out_dir/tables/NAME.tsv files; none is fine.  Call inside a transaction. */
int sul_tables_import(struct sul_db *db, const char *out_dir, const char *key, struct sul_err *err);

#endif
