/*
 * main.c - the `sulcus` command: parse the subcommand, dispatch through the
 * table below (git's git.c), print the one error, exit.  Nothing else in
 * sulcus prints errors or exits.
 */
#include "cmd.h"
#include "err.h"
#include "stage_exec.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STR(x) STR2(x)
#define STR2(x) #x

int cmd_stage_exec(int argc, char **argv, struct sul_err *err)
{
	struct sul_jobfile d;
	int status;

	if (argc != 2) {
		sul_err_set(err, SUL_ERR_INPUT, "stage-exec: expected one job file");
		return 2;
	}
	if (sul_jobfile_read(argv[1], &d, err))
		return 1;
	status = sul_stage_main(&d);
	sul_jobfile_release(&d);
	return status;
}

static int cmd_help(int argc, char **argv, struct sul_err *err);

static int cmd_version(int argc, char **argv, struct sul_err *err)
{
	(void)argc;
	(void)argv;
	(void)err;
	printf("sulcus %s\n", STR(SULCUS_VERSION));
	return 0;
}

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct sul_err *err);
	const char *usage;
} commands[] = {
	{ "run", cmd_run, "run FILE [-j N] [--set ID.NAME=VALUE]... [--force ID]... [--only ID]...\n"
			  "        [--keep-going] [--executor local|slurm] [-q] [-v] [--workdir DIR]\n"
			  "                      run what is not cached; exit 0 ok, 1 a stage failed, 2 bad input" },
	{ "plan", cmd_plan, "plan FILE [--set ...] [--force ID] [--only ID] [--workdir DIR]\n"
			    "                      show what would run, and why" },
	{ "check", cmd_check, "check FILE [--set ...] [-q]   validate a workflow; run nothing" },
	{ "dag", cmd_dag, "dag FILE [--set ...] [--svg]  print the stage graph as Graphviz dot, or drawn as SVG" },
	{ "kinds", cmd_kinds, "kinds [KIND]                  list stage kinds and their parameters" },
	{ "query", cmd_query, "query [--csv|--json] [--db PATH] [--workdir DIR] [-p NAME=VALUE]... (SQL | -f FILE)\n"
			      "                      run read-only SQL on the results database (:NAME from -p)" },
	{ "runs", cmd_runs, "runs [-m STAGE:METRIC]... [--sort COLUMN] [--csv|--json] [--workdir DIR]\n"
			    "                      list runs; with -m, a column per metric (an experiments table)" },
	{ "diff", cmd_diff, "diff [RUN_A [RUN_B]] [--stage GLOB] [--csv|--json] [--workdir DIR]\n"
			    "                      per stage, what differs between two runs (default: the last two):\n"
			    "                      parameters, inputs, final metrics side by side" },
	{ "show", cmd_show, "show STAGE [--run ID] [--log] [--workdir DIR]\n"
			    "                      a stage's latest provenance: params, inputs, key, files, metrics, log" },
	{ "report", cmd_report, "report [WORKFLOW] [--out DIR] [--spec FILE] [--run ID] [--compare ID] [--workdir DIR]\n"
				"                      a static HTML report of the results (DIR/index.html, default report/),\n"
				"                      drawn by the spec beside the workflow (NAME.report.cfg or report.cfg)" },
	{ "gc", cmd_gc, "gc [--keep N] [--dry-run] [--workdir DIR]\n"
			"                      remove cache entries no run of the last N (10) used" },
	{ "version", cmd_version, "version" },
	{ "help", cmd_help, "help" },
	{ "stage-exec", cmd_stage_exec, NULL },  /* internal: run one stage from its job file */
};

static int cmd_help(int argc, char **argv, struct sul_err *err)
{
	size_t i;

	(void)argc;
	(void)argv;
	(void)err;
	printf("usage: sulcus COMMAND [ARGS]\n\n"
	       "sulcus runs declarative workflows (libconfig .cfg files) of cached stages and\n"
	       "records their provenance and metrics in SQLite (.sulcus/sulcus.db).\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].usage)
			printf("  sulcus %s\n", commands[i].usage);
	return 0;
}

int main(int argc, char **argv)
{
	struct sul_err err = SUL_ERR_INIT;
	size_t i;
	int status;

	if (argc < 2) {
		cmd_help(0, NULL, &err);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL, &err);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL, &err);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		status = commands[i].fn(argc - 1, argv + 1, &err);
		/* Output that did not arrive (a full disk, /dev/full) is a failure. */
		if (fflush(stdout) || ferror(stdout)) {
			if (!status)
				sul_err_sys(&err, "cannot write to standard output");
			status = status ? status : 3;
		}
		if (status && err.msg[0])
			fprintf(stderr, "sulcus: %s\n", err.msg);
		return status;
	}
	fprintf(stderr, "sulcus: unknown command '%s' (see `sulcus help`)\n", argv[1]);
	return 2;
}
