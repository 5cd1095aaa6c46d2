/*
 * cmd_workflow.c - the subcommands that read a workflow file: run, plan,
 * check, dag.  They share option parsing; bad input is reported before
 * anything is created or written (exit status 2).
 */
#include "cmd.h"
#include "sched.h"
#include "stage_exec.h"
#include "svg.h"
#include "strbuf.h"
#include "workflow.h"
#include "workspace.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct wf_args {
	const char *file;
	const char *workdir;
	const char *executor;
	const char **sets;
	size_t nsets;
	const char **force;
	size_t nforce;
	const char **only;
	size_t nonly;
	int jobs, keep_going, quiet, verbose, svg;
};

enum { OPT_SET = 256, OPT_FORCE, OPT_ONLY, OPT_KEEP_GOING, OPT_WORKDIR, OPT_EXECUTOR, OPT_SVG };

static void push(const char ***arr, size_t *n, const char *v)
{
	*arr = sul_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = v;
}

static void args_release(struct wf_args *a)
{
	free(a->sets);
	free(a->force);
	free(a->only);
}

/* allowed: the options this subcommand takes, as letters of "sfokjqvweg" (g: --svg). */
static int parse_args(int argc, char **argv, const char *allowed, struct wf_args *a, struct sul_err *err)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, OPT_SET },
		{ "force", required_argument, NULL, OPT_FORCE },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ "executor", required_argument, NULL, OPT_EXECUTOR },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "svg", no_argument, NULL, OPT_SVG },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (a->jobs < 1)
		a->jobs = 1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:qvk", opts, NULL)) != -1) {
		char letter = c == OPT_SET ? 's' : c == OPT_FORCE ? 'f' : c == OPT_ONLY ? 'o'
			      : c == OPT_KEEP_GOING || c == 'k' ? 'k' : c == OPT_WORKDIR ? 'w' : c == OPT_EXECUTOR ? 'e'
			      : c == 'j' ? 'j' : c == 'q' ? 'q' : c == 'v' ? 'v' : c == OPT_SVG ? 'g' : '?';
		if (letter == '?' || !strchr(allowed, letter))
			return sul_err_set(err, SUL_ERR_INPUT, "%s: unknown option '%s' (see `sulcus help`)",
					   argv[0], argv[optind - 1]);
		switch (c) {
		case OPT_SET: push(&a->sets, &a->nsets, optarg); break;
		case OPT_FORCE: push(&a->force, &a->nforce, optarg); break;
		case OPT_ONLY: push(&a->only, &a->nonly, optarg); break;
		case OPT_KEEP_GOING:
		case 'k': a->keep_going = 1; break;
		case OPT_WORKDIR: a->workdir = optarg; break;
		case OPT_EXECUTOR:
			if (strcmp(optarg, "local") && strcmp(optarg, "slurm"))
				return sul_err_set(err, SUL_ERR_INPUT, "--executor: expected local or slurm, got '%s'",
						   optarg);
			a->executor = optarg;
			break;
		case 'q': a->quiet = 1; break;
		case OPT_SVG: a->svg = 1; break;
		case 'v': a->verbose = 1; break;
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (!*optarg || *end || j < 1 || j > 1024)
				return sul_err_set(err, SUL_ERR_INPUT, "-j: expected a number of jobs from 1 to 1024, got '%s'",
						   optarg);
			a->jobs = (int)j;
			break;
		}
		}
	}
	if (optind != argc - 1)
		return sul_err_set(err, SUL_ERR_INPUT, "%s: expected one workflow file, got %d arguments", argv[0],
				   argc - optind);
	a->file = argv[optind];
	return 0;
}

static void argv_json(int argc, char **argv, struct sul_buf *out)
{
	int i;

	sul_buf_adds(out, "[\"sulcus\"");
	for (i = 0; i < argc; i++) {
		sul_buf_adds(out, ", ");
		sul_buf_add_json_str(out, argv[i]);
	}
	sul_buf_addc(out, ']');
}

static void sched_opts(const struct wf_args *a, struct sul_sched_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = a->jobs;
	o->keep_going = a->keep_going;
	o->quiet = a->quiet;
	o->verbose = a->verbose;
	o->force = a->force;
	o->nforce = a->nforce;
	o->only = a->only;
	o->nonly = a->nonly;
	o->progress = stderr;
}

/* The executor the run uses: --executor, else the workflow's, else local. */
static int make_executor(const struct wf_args *a, const struct sul_workflow *wf, struct sul_executor **ex,
			 struct sul_err *err)
{
	const char *which = a->executor ? a->executor : wf->executor ? wf->executor : "local";
	char self[4096];
	ssize_t n;

	/* Stages run as `sulcus stage-exec` (on Slurm) or as forks of this
	 * process that do what it does (locally): the very binary running now. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0 || (size_t)n >= sizeof(self) - 1)
		return sul_err_sys(err, "cannot find the sulcus executable (/proc/self/exe)");
	self[n] = '\0';
	if (!strcmp(which, "slurm"))
		return sul_executor_slurm(self, ex, err);
	*ex = sul_executor_local(self, sul_stage_main);
	return 0;
}

int cmd_run(int argc, char **argv, struct sul_err *err)
{
	struct wf_args a;
	struct sul_workflow wf;
	struct sul_workspace ws;
	struct sul_sched_opts o;
	struct sul_sched_summary sum;
	struct sul_executor *ex = NULL;
	struct sul_buf av = SUL_BUF_INIT;
	int status = 2;

	if (parse_args(argc, argv, "sfokjqvwe", &a, err))
		goto out_args;
	if (sul_workflow_load(a.file, a.sets, a.nsets, &wf, err))
		goto out_args;
	sched_opts(&a, &o);
	if (sul_sched_check_selection(&wf, &o, err) || make_executor(&a, &wf, &ex, err))
		goto out_wf;
	if (sul_workspace_open(a.workdir, SUL_WS_WRITE, &ws, err)) {
		status = sul_err_exit_code(err);
		goto out_wf;
	}
	argv_json(argc, argv, &av);
	o.argv_json = av.buf;
	if (sul_sched_run(&ws, &wf, ex, &o, &sum, err)) {
		status = sul_err_exit_code(err);
	} else if (sum.interrupted_by) {
		status = 128 + sum.interrupted_by;
		sul_err_set(err, SUL_ERR_FAIL, "run %lld interrupted", sum.run_id);
	} else if (sum.failed || sum.skipped) {
		status = 1;
		sul_err_set(err, SUL_ERR_FAIL, "run %lld: %zu failed, %zu skipped", sum.run_id, sum.failed,
			    sum.skipped);
	} else {
		status = 0;
	}
	sul_workspace_close(&ws);
out_wf:
	if (ex)
		ex->free(ex);
	sul_workflow_release(&wf);
out_args:
	sul_buf_release(&av);
	args_release(&a);
	return status;
}

int cmd_plan(int argc, char **argv, struct sul_err *err)
{
	struct wf_args a;
	struct sul_workflow wf;
	struct sul_workspace ws;
	struct sul_sched_opts o;
	int status = 2;

	if (parse_args(argc, argv, "sfow", &a, err))
		goto out_args;
	if (sul_workflow_load(a.file, a.sets, a.nsets, &wf, err))
		goto out_args;
	sched_opts(&a, &o);
	if (sul_sched_check_selection(&wf, &o, err))
		goto out_wf;
	if (sul_workspace_open(a.workdir, 0, &ws, err)) {
		status = sul_err_exit_code(err);
		goto out_wf;
	}
	status = sul_sched_plan(&ws, &wf, &o, stdout, err) ? sul_err_exit_code(err) : 0;
	sul_workspace_close(&ws);
out_wf:
	sul_workflow_release(&wf);
out_args:
	args_release(&a);
	return status;
}

int cmd_check(int argc, char **argv, struct sul_err *err)
{
	struct wf_args a;
	struct sul_workflow wf;
	int status = 2;

	if (parse_args(argc, argv, "sq", &a, err))
		goto out;
	if (sul_workflow_load(a.file, a.sets, a.nsets, &wf, err))
		goto out;
	if (sul_workflow_check_paths(&wf, err)) {
		sul_workflow_release(&wf);
		goto out;
	}
	if (!a.quiet)
		printf("%s: workflow '%s' is valid: %zu stages\n", a.file, wf.name, wf.nstages);
	sul_workflow_release(&wf);
	status = 0;
out:
	args_release(&a);
	return status;
}

static void dot_id(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* The graph drawn by sulcus itself (svg.h): no Graphviz needed. */
static void print_svg(const struct sul_workflow *wf)
{
	const char **names = sul_xcalloc(wf->nstages + 1, sizeof(*names)), **notes = sul_xcalloc(wf->nstages + 1, sizeof(*notes));
	const size_t **inputs = sul_xcalloc(wf->nstages + 1, sizeof(*inputs));
	size_t *ninputs = sul_xcalloc(wf->nstages + 1, sizeof(*ninputs)), *order = sul_xcalloc(wf->nstages + 1, sizeof(*order));
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_svg_graph g;
	size_t i;

	for (i = 0; i < wf->nstages; i++) {
		names[i] = wf->stages[i].id;
		notes[i] = wf->stages[i].kind->name;
		inputs[i] = wf->stages[i].input_idx;
		ninputs[i] = wf->stages[i].ninputs;
	}
	sul_dag_topo_order(wf->dag, wf->nstages, order);
	g.n = wf->nstages;
	g.names = names;
	g.notes = notes;
	g.inputs = inputs;
	g.ninputs = ninputs;
	g.order = order;
	sul_svg_graph(&b, &g);
	fputs(b.buf, stdout);
	sul_buf_release(&b);
	free(names);
	free(notes);
	free((void *)inputs);
	free(ninputs);
	free(order);
}

int cmd_dag(int argc, char **argv, struct sul_err *err)
{
	struct wf_args a;
	struct sul_workflow wf;
	size_t i, j;
	int status = 2;

	if (parse_args(argc, argv, "sg", &a, err))
		goto out;
	if (sul_workflow_load(a.file, a.sets, a.nsets, &wf, err))
		goto out;
	if (a.svg) {
		print_svg(&wf);
		sul_workflow_release(&wf);
		status = 0;
		goto out;
	}
	printf("digraph ");
	dot_id(wf.name);
	printf(" {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
	for (i = 0; i < wf.nstages; i++) {
		const struct sul_stage *st = &wf.stages[i];
		printf("  ");
		dot_id(st->id);
		printf(" [label=\"%s\\n(%s)\"];\n", st->id, st->kind->name);
	}
	for (i = 0; i < wf.nstages; i++)
		for (j = 0; j < wf.stages[i].ninputs; j++) {
			printf("  ");
			dot_id(wf.stages[i].inputs[j]);
			printf(" -> ");
			dot_id(wf.stages[i].id);
			printf(";\n");
		}
	printf("}\n");
	sul_workflow_release(&wf);
	status = 0;
out:
	args_release(&a);
	return status;
}
