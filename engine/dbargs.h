/*
 * dbargs.h - what the subcommands that read the results database share:
 * their options (--db PATH, --workdir DIR, --csv, --json, --run ID,
 * -f/--file FILE, -p/--param NAME=VALUE) and opening the database read-only, from --db or from the
 * workspace.  Used by cmd_query.c and cmd_runs.c; `report` opens its
 * workspace itself (it needs the cache too).
 */
#ifndef SUL_DBARGS_H
#define SUL_DBARGS_H

#include "db.h"
#include "err.h"
#include "query_print.h"
#include "workspace.h"

struct sul_dbargs {
	const char *workdir;    /* --workdir; NULL: the default workspace */
	const char *db_path;    /* --db; NULL: the workspace's database */
	const char *sql_file;   /* -f/--file */
	enum sul_query_format fmt;
	long run;               /* --run; -1 when not given */
	int first_arg;          /* index of the first positional argument */
	const char *params[32]; /* -p/--param NAME=VALUE, as given */
	size_t nparams;
	int whole_log;          /* --log */
	const char *stage_glob; /* --stage GLOB */
	const char *metrics[16];/* -m/--metric STAGE:NAME, as given */
	size_t nmetrics;
	const char *sort;       /* --sort COLUMN (-COLUMN: descending) */
};

/*
 * Parses argv's options into a.  allowed holds one letter per option the
 * subcommand takes: d (--db), w (--workdir), c (--csv), j (--json), r
 * (--run), f (-f/--file), p (-p/--param), l (--log), s (--stage), m
 * (-m/--metric), o (--sort); any other option is "ARGV0: unknown option".
 */
int sul_dbargs_parse(int argc, char **argv, const char *allowed, struct sul_dbargs *a, struct sul_err *err);

/*
 * Opens the database read-only: a->db_path if given (which must exist),
 * else the workspace's (ws is opened; a missing database is an input error
 * that says to run a workflow first).  Close with sul_dbargs_close.
 */
int sul_dbargs_open(const struct sul_dbargs *a, struct sul_workspace *ws, struct sul_db **db, struct sul_err *err);
void sul_dbargs_close(struct sul_workspace *ws, struct sul_db *db);

#endif
