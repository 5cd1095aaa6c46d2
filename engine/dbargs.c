/*
 * dbargs.c - the options of the subcommands that read the results database,
 * and opening it read-only (see dbargs.h).
 */
#include "dbargs.h"
#include "fsutil.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_DB = 256, OPT_WORKDIR, OPT_CSV, OPT_JSON, OPT_RUN, OPT_FILE, OPT_PARAM, OPT_LOG, OPT_STAGE, OPT_METRIC,
       OPT_SORT };

int sul_dbargs_parse(int argc, char **argv, const char *allowed, struct sul_dbargs *a, struct sul_err *err)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "log", no_argument, NULL, OPT_LOG },
		{ "stage", required_argument, NULL, OPT_STAGE },
		{ "metric", required_argument, NULL, OPT_METRIC },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->run = -1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:p:m:", opts, NULL)) != -1) {
		char letter = c == OPT_DB ? 'd' : c == OPT_WORKDIR ? 'w' : c == OPT_CSV ? 'c'
			      : c == OPT_JSON ? 'j' : c == OPT_RUN ? 'r' : c == OPT_FILE || c == 'f' ? 'f'
			      : c == OPT_PARAM || c == 'p' ? 'p' : c == OPT_LOG ? 'l' : c == OPT_STAGE ? 's'
			      : c == OPT_METRIC || c == 'm' ? 'm' : c == OPT_SORT ? 'o' : '?';
		if (letter == '?' || !strchr(allowed, letter))
			return sul_err_set(err, SUL_ERR_INPUT, "%s: unknown option '%s' (see `sulcus help`)",
					   argv[0], argv[optind - 1]);
		switch (c) {
		case OPT_DB: a->db_path = optarg; break;
		case OPT_WORKDIR: a->workdir = optarg; break;
		case OPT_CSV: a->fmt = SUL_QUERY_CSV; break;
		case OPT_FILE:
		case 'f': a->sql_file = optarg; break;
		case OPT_JSON: a->fmt = SUL_QUERY_JSON; break;
		case OPT_LOG: a->whole_log = 1; break;
		case OPT_STAGE: a->stage_glob = optarg; break;
		case OPT_SORT: a->sort = optarg; break;
		case OPT_METRIC:
		case 'm':
			if (!strchr(optarg, ':') || optarg[0] == ':' || !strchr(optarg, ':')[1])
				return sul_err_set(err, SUL_ERR_INPUT, "--metric: expected STAGE:NAME, got '%s'", optarg);
			if (a->nmetrics == sizeof(a->metrics) / sizeof(a->metrics[0]))
				return sul_err_set(err, SUL_ERR_INPUT, "--metric: at most %zu", a->nmetrics);
			a->metrics[a->nmetrics++] = optarg;
			break;
		case OPT_PARAM:
		case 'p':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return sul_err_set(err, SUL_ERR_INPUT, "--param: expected NAME=VALUE, got '%s'", optarg);
			if (a->nparams == sizeof(a->params) / sizeof(a->params[0]))
				return sul_err_set(err, SUL_ERR_INPUT, "--param: at most %zu", a->nparams);
			a->params[a->nparams++] = optarg;
			break;
		case OPT_RUN: {
			char *end;
			a->run = strtol(optarg, &end, 10);
			if (!*optarg || *end || a->run < 1)
				return sul_err_set(err, SUL_ERR_INPUT, "--run: expected a run id, got '%s'", optarg);
			break;
		}
		}
	}
	a->first_arg = optind;
	return 0;
}

int sul_dbargs_open(const struct sul_dbargs *a, struct sul_workspace *ws, struct sul_db **db, struct sul_err *err)
{
	memset(ws, 0, sizeof(*ws));
	if (a->db_path) {
		if (!sul_path_exists(a->db_path))
			return sul_err_set(err, SUL_ERR_INPUT, "no database at '%s'", a->db_path);
		return sul_db_open(a->db_path, SUL_DB_READONLY, db, err);
	}
	if (sul_workspace_open(a->workdir, 0, ws, err))
		return -1;
	if (!ws->db) {
		sul_err_set(err, SUL_ERR_INPUT, "no database at '%s': run a workflow first, or pass --db PATH",
			    ws->db_path);
		sul_workspace_close(ws);
		return -1;
	}
	*db = ws->db;
	return 0;
}

void sul_dbargs_close(struct sul_workspace *ws, struct sul_db *db)
{
	if (ws->db)
		sul_workspace_close(ws);
	else
		sul_db_close(db);
}

