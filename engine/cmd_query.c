/*
 * cmd_query.c - `sulcus query`: SQL that reads, run on the results database
 * opened read-only, its rows printed as a table, CSV or JSON (query.h,
 * query_print.h).  A statement that would write is refused before any
 * statement runs.
 */
#include "cmd.h"
#include "db.h"
#include "dbargs.h"
#include "fsutil.h"
#include "query.h"
#include "query_print.h"
#include "strbuf.h"

#include <stdio.h>

int cmd_query(int argc, char **argv, struct sul_err *err)
{
	struct sul_dbargs a;
	struct sul_workspace ws;
	struct sul_db *db = NULL;
	struct sul_buf text = SUL_BUF_INIT;
	struct sul_query_batch batch = SUL_QUERY_BATCH_INIT;
	size_t i;
	int status = 2;

	if (sul_dbargs_parse(argc, argv, "dwcjfp", &a, err))
		return 2;
	if (a.first_arg != argc - (a.sql_file ? 0 : 1)) {
		sul_err_set(err, SUL_ERR_INPUT, "query: expected one SQL argument or -f FILE");
		return 2;
	}
	if (a.sql_file && sul_read_file(a.sql_file, &text, err)) {
		err->kind = SUL_ERR_INPUT;
		return 2;
	}
	if (sul_dbargs_open(&a, &ws, &db, err)) {
		sul_buf_release(&text);
		return sul_err_exit_code(err);
	}
	if (sul_query_prepare(sul_db_handle(db), a.sql_file ? text.buf : argv[a.first_arg], &batch, err)
	    || sul_query_bind(&batch, a.params, a.nparams, err)) {
		sul_err_prefix(err, "query");
		goto out;
	}
	for (i = 0; i < batch.n; i++) {
		if (i && a.fmt == SUL_QUERY_TABLE)
			putchar('\n');
		if (sul_query_print(batch.st[i], a.fmt, stdout, err)) {
			sul_err_prefix(err, "query");
			goto out;
		}
	}
	status = 0;
out:
	sul_query_batch_release(&batch);
	sul_buf_release(&text);
	sul_dbargs_close(&ws, db);
	return status;
}
