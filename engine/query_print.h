/*
 * query_print.h - a statement's rows written out as `sulcus query`, `runs`
 * and `show` print them: an aligned table, CSV or JSON.
 *
 * Values are text by query.h's one rule.  Table: columns aligned, numbers
 * to the right, NULL empty.  CSV: a header line, RFC 4180 quoting, NULL
 * empty.  JSON: an array of objects, typed values, null (and null for a
 * real that JSON cannot hold: infinity).  This module does not prepare or
 * check statements (query.h does) and writes only to the FILE it is given.
 */
#ifndef SUL_QUERY_PRINT_H
#define SUL_QUERY_PRINT_H

#include <sqlite3.h>
#include <stdio.h>

#include "err.h"

enum sul_query_format { SUL_QUERY_TABLE, SUL_QUERY_CSV, SUL_QUERY_JSON };

/*
 * Steps st to the end, writing its rows to out in fmt.  CSV and JSON are
 * written as they are read; a table only once every row is in, so a failing
 * step leaves none of it written.  Returns 0, or -1 with err from
 * sul_query_step (write errors are the caller's to find on out).
 */
int sul_query_print(sqlite3_stmt *st, enum sul_query_format fmt, FILE *out, struct sul_err *err);

#endif
