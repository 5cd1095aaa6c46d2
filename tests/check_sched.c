/*
 * check_sched.c - the scheduler against a fake executor, as ninja's
 * build_test does: no process is started.  The fake records the order in
 * which jobs start and how many run at once, and "runs" each job in this
 * process (sul_stage_exec on its job file) when the scheduler waits, except
 * a stage named hang*, which ends only when cancelled (the fake then
 * delivers a signal, as Ctrl-C would); the `fake` kind (below) succeeds or
 * fails on cue and writes a value.  Ordering, -j, --keep-going, stopping
 * after a failure, early cutoff, the reasons plan gives and cancellation
 * are checked in milliseconds; the shell tests keep covering real
 * processes.
 */
#include "check_util.h"
#include "../engine/db.h"
#include "../engine/executor.h"
#include "../engine/fsutil.h"
#include "../engine/sched.h"
#include "../engine/stage_exec.h"
#include "../engine/strbuf.h"
#include "../engine/workflow.h"
#include "../engine/workspace.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the fake kind ---------------------------------------------------------- */

static const struct sul_param_spec fake_params[] = {
	{ "fail", SUL_T_BOOL, "false", 0, 0, NULL, "fail instead of writing the value" },
	{ "value", SUL_T_STRING, "x", 0, 0, NULL, "written to out/v" },
	{ "salt", SUL_T_INT, "0", 0, 0, NULL, "changes the key, not the output" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

static int fake_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	char *path;
	int r;

	if (sul_ctx_int(ctx, "fail"))
		return sul_err_set(err, SUL_ERR_FAIL, "failed on cue");
	path = sul_xasprintf("%s/v", ctx->out);
	r = sul_write_file_atomic(path, sul_ctx_str(ctx, "value"), strlen(sul_ctx_str(ctx, "value")), err);
	free(path);
	return r;
}

extern const struct sul_kind sul_test_kind_fake;
const struct sul_kind sul_test_kind_fake = {
	.name = "fake",
	.version = 1,
	.doc = "a stage that succeeds or fails on cue, for the scheduler's tests",
	.params = fake_params,
	.run = fake_run,
};

/* --- the fake executor ------------------------------------------------------ */

struct fake_job {
	size_t tag;
	char *jobfile;
	char id[32];
	int active;
};

/*
 * Jobs run when the scheduler waits, oldest first, except those whose stage
 * id starts with "hang": they end only when cancelled.  When nothing but
 * such jobs is left, the fake delivers signal_when_hanging (once), as a
 * Ctrl-C would arrive; after cancel() every job ends killed by SIGTERM.
 */
struct fake_ex {
	struct sul_executor ex;
	struct fake_job jobs[64];
	size_t njobs;           /* slots used, active or not */
	size_t max_running;
	char started[64][32];   /* stage ids in start order */
	size_t nstarted;
	int signal_when_hanging, signalled, cancelled;
};

static size_t running_now(const struct fake_ex *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->njobs; i++)
		n += (size_t)f->jobs[i].active;
	return n;
}

static int fake_start(struct sul_executor *ex, const struct sul_job *job, char job_id[SUL_JOB_ID_MAX],
		      struct sul_err *err)
{
	struct fake_ex *f = (struct fake_ex *)ex;
	struct fake_job *j;

	(void)err;
	ck_assert_uint_lt(f->njobs, 64);
	j = &f->jobs[f->njobs++];
	j->tag = job->tag;
	j->jobfile = sul_xstrdup(job->jobfile_path);
	j->active = 1;
	snprintf(j->id, sizeof(j->id), "%s", job->stage_id);
	snprintf(f->started[f->nstarted++ % 64], 32, "%s", job->stage_id);
	if (running_now(f) > f->max_running)
		f->max_running = running_now(f);
	snprintf(job_id, SUL_JOB_ID_MAX, "fake-%zu", f->njobs);
	return 0;
}

/* Ends one job here and now: runs it, or reports it killed once cancelled. */
static int fake_wait(struct sul_executor *ex, double timeout_s, struct sul_job_end *end, int *signo,
		     struct sul_err *err)
{
	struct fake_ex *f = (struct fake_ex *)ex;
	struct fake_job *j = NULL;
	struct sul_err stage = SUL_ERR_INIT;
	size_t i;
	int r;

	(void)timeout_s;
	(void)err;
	for (i = 0; i < f->njobs && !j; i++)
		if (f->jobs[i].active && (f->cancelled || strncmp(f->jobs[i].id, "hang", 4)))
			j = &f->jobs[i];
	if (!j) {
		if (running_now(f) && f->signal_when_hanging && !f->signalled) {
			f->signalled = 1;
			*signo = f->signal_when_hanging;
			return 0;
		}
		ck_assert_msg(!running_now(f), "only hanging jobs left, and no signal to end them");
		return 2;
	}
	memset(end, 0, sizeof(*end));
	end->tag = j->tag;
	if (f->cancelled) {
		end->signal = SIGTERM;
		end->exit_code = 128 + SIGTERM;
		snprintf(end->state, sizeof(end->state), "SIGNALED");
	} else {
		r = sul_stage_exec(j->jobfile, &stage);
		end->exit_code = r ? 1 : 0;
		snprintf(end->state, sizeof(end->state), "%s", r ? "FAILED" : "COMPLETED");
	}
	snprintf(end->node, sizeof(end->node), "fake");
	free(j->jobfile);
	j->active = 0;
	return 1;
}

static void fake_cancel(struct sul_executor *ex)
{
	((struct fake_ex *)ex)->cancelled = 1;
}

static size_t fake_running(const struct sul_executor *ex)
{
	return running_now((const struct fake_ex *)ex);
}

static void fake_free(struct sul_executor *ex)
{
	(void)ex;
}

static void fake_init(struct fake_ex *f)
{
	memset(f, 0, sizeof(*f));
	f->ex.name = "fake";
	f->ex.needs_jobfile = 1;
	f->ex.start = fake_start;
	f->ex.wait = fake_wait;
	f->ex.cancel = fake_cancel;
	f->ex.running = fake_running;
	f->ex.free = fake_free;
}

/* --- helpers ---------------------------------------------------------------- */

static char *root;

/* Loads workflow text (written to ROOT/wf.cfg) and runs it with -j jobs;
 * signal: what arrives when only hanging jobs are left (0: none). */
static int run_wf_signal(const char *text, int jobs, int keep_going, const char *const *sets, size_t nsets,
			 int signal, struct fake_ex *f, struct sul_sched_summary *sum)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_workflow wf;
	struct sul_workspace ws;
	struct sul_sched_opts o;
	char *ws_dir = sul_xasprintf("%s/.sulcus", root);
	int r;

	ck_assert_msg(sul_workflow_load(tu_write(root, "wf.cfg", text), sets, nsets, &wf, &err) == 0, "%s", err.msg);
	ck_assert_msg(sul_workspace_open(ws_dir, SUL_WS_WRITE, &ws, &err) == 0, "%s", err.msg);
	memset(&o, 0, sizeof(o));
	o.jobs = jobs;
	o.keep_going = keep_going;
	o.quiet = 1;
	o.argv_json = "[\"check_sched\"]";
	fake_init(f);
	f->signal_when_hanging = signal;
	r = sul_sched_run(&ws, &wf, &f->ex, &o, sum, &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	sul_workspace_close(&ws);
	sul_workflow_release(&wf);
	free(ws_dir);
	return r;
}

static int run_wf(const char *text, int jobs, int keep_going, const char *const *sets, size_t nsets,
		  struct fake_ex *f, struct sul_sched_summary *sum)
{
	return run_wf_signal(text, jobs, keep_going, sets, nsets, 0, f, sum);
}

/* What `sulcus plan` prints for workflow text, in a string the caller frees. */
static char *plan_wf(const char *text, const char *const *sets, size_t nsets)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_workflow wf;
	struct sul_workspace ws;
	struct sul_sched_opts o;
	char *ws_dir = sul_xasprintf("%s/.sulcus", root), *text_out = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text_out, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(sul_workflow_load(tu_write(root, "wf.cfg", text), sets, nsets, &wf, &err) == 0, "%s", err.msg);
	ck_assert_msg(sul_workspace_open(ws_dir, 0, &ws, &err) == 0, "%s", err.msg);
	memset(&o, 0, sizeof(o));
	o.jobs = 1;
	ck_assert_msg(sul_sched_plan(&ws, &wf, &o, out, &err) == 0, "%s", err.msg);
	fclose(out);
	sul_workspace_close(&ws);
	sul_workflow_release(&wf);
	free(ws_dir);
	return text_out;
}

/* The line plan printed for stage id, its blanks squeezed: "run a new stage". */
static char *plan_line(const char *plan, const char *id)
{
	const char *line = plan;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char *l = sul_xstrndup(line, n), *r;
		char *state = strtok_r(l, " ", &r), *stage = state ? strtok_r(NULL, " ", &r) : NULL, *w;

		if (stage && !strcmp(stage, id)) {
			struct sul_buf b = SUL_BUF_INIT;
			sul_buf_addf(&b, "%s %s", state, stage);
			for (w = strtok_r(NULL, " ", &r); w; w = strtok_r(NULL, " ", &r))
				sul_buf_addf(&b, " %s", w);
			free(l);
			return sul_buf_detach(&b);
		}
		free(l);
		line = end ? end + 1 : NULL;
	}
	return sul_xstrdup("(no line)");
}

static size_t position(const struct fake_ex *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->nstarted; i++)
		if (!strcmp(f->started[i], id))
			return i;
	return (size_t)-1;
}

static void setup(void)
{
	root = tu_tmpdir();
}

static void teardown(void)
{
	tu_cleanup();
}

/* --- tests ------------------------------------------------------------------ */

static const char diamond[] =
	"name = \"s\";\n"
	"stages = (\n"
	"  { id = \"a\"; kind = \"fake\"; },\n"
	"  { id = \"b\"; kind = \"fake\"; inputs = [\"a\"]; },\n"
	"  { id = \"c\"; kind = \"fake\"; inputs = [\"a\"]; },\n"
	"  { id = \"d\"; kind = \"fake\"; inputs = [\"b\", \"c\"]; }\n"
	");\n";

/* Inputs first; -j bounds what runs at once, and is used when it can be. */
START_TEST(order_follows_the_graph_within_j)
{
	struct fake_ex f;
	struct sul_sched_summary sum;

	run_wf(diamond, 2, 0, NULL, 0, &f, &sum);
	ck_assert_uint_eq(sum.ran, 4);
	ck_assert_uint_eq(f.nstarted, 4);
	ck_assert_uint_eq(position(&f, "a"), 0);
	ck_assert_uint_eq(position(&f, "d"), 3);
	ck_assert_uint_eq(f.max_running, 2);  /* b and c side by side */
	run_wf(diamond, 1, 0, NULL, 0, &f, &sum);  /* everything cached now */
	ck_assert_uint_eq(sum.cached, 4);
	ck_assert_uint_eq(f.nstarted, 0);
}
END_TEST

START_TEST(j1_runs_one_at_a_time)
{
	struct fake_ex f;
	struct sul_sched_summary sum;

	run_wf(diamond, 1, 0, NULL, 0, &f, &sum);
	ck_assert_uint_eq(sum.ran, 4);
	ck_assert_uint_eq(f.max_running, 1);
}
END_TEST

static const char failing[] =
	"name = \"s\";\n"
	"stages = (\n"
	"  { id = \"a\"; kind = \"fake\"; params = { fail = true; }; },\n"
	"  { id = \"b\"; kind = \"fake\"; inputs = [\"a\"]; },\n"
	"  { id = \"x\"; kind = \"fake\"; },\n"
	"  { id = \"y\"; kind = \"fake\"; inputs = [\"x\"]; }\n"
	");\n";

/* --keep-going: a failure skips its descendants only. */
START_TEST(keep_going_runs_the_independent_branch)
{
	struct fake_ex f;
	struct sul_sched_summary sum;

	run_wf(failing, 1, 1, NULL, 0, &f, &sum);
	ck_assert_uint_eq(sum.failed, 1);
	ck_assert_uint_eq(sum.skipped, 1);  /* b */
	ck_assert_uint_eq(sum.ran, 2);      /* x, y */
	ck_assert_uint_eq(position(&f, "b"), (size_t)-1);
	ck_assert_uint_ne(position(&f, "y"), (size_t)-1);
}
END_TEST

/* Without it, nothing new starts after the failure. */
START_TEST(a_failure_stops_new_starts)
{
	struct fake_ex f;
	struct sul_sched_summary sum;

	run_wf(failing, 1, 0, NULL, 0, &f, &sum);
	ck_assert_uint_eq(sum.failed, 1);
	ck_assert_uint_eq(f.nstarted, position(&f, "a") + 1);  /* a was the last to start */
	ck_assert_uint_eq(sum.ran + sum.failed, f.nstarted);
	ck_assert_uint_eq(sum.ran + sum.failed + sum.skipped + sum.cached, 4);
}
END_TEST

/* A rerun of a whose output is byte for byte the same leaves b's key as it
 * was: b comes from the cache (early cutoff). */
START_TEST(same_output_cuts_off_downstream)
{
	static const char *const salt[] = { "a.salt=1" };
	static const char *const value[] = { "a.value=y" };
	static const char chain[] = "name = \"s\";\n"
				    "stages = (\n"
				    "  { id = \"a\"; kind = \"fake\"; },\n"
				    "  { id = \"b\"; kind = \"fake\"; inputs = [\"a\"]; }\n"
				    ");\n";
	struct fake_ex f;
	struct sul_sched_summary sum;

	run_wf(chain, 1, 0, NULL, 0, &f, &sum);
	ck_assert_uint_eq(sum.ran, 2);
	run_wf(chain, 1, 0, salt, 1, &f, &sum);
	ck_assert_uint_eq(sum.ran, 1);
	ck_assert_uint_eq(sum.cached, 1);
	ck_assert_str_eq(f.started[0], "a");
	run_wf(chain, 1, 0, value, 1, &f, &sum);  /* a new output: b follows */
	ck_assert_uint_eq(sum.ran, 2);
}
END_TEST

static void assert_plan(const char *plan, const char *id, const char *want)
{
	char *got = plan_line(plan, id);

	ck_assert_msg(!strcmp(got, want), "plan line of %s: expected '%s', got '%s'\nin:\n%s", id, want, got, plan);
	free(got);
}

/* The reasons plan gives, as t1003 checks them through real processes. */
START_TEST(plan_says_why)
{
	static const char *const value[] = { "a.value=y" };
	static const char *const salt[] = { "a.salt=1" };
	struct fake_ex f;
	struct sul_sched_summary sum;
	char *plan;

	plan = plan_wf(diamond, NULL, 0);
	assert_plan(plan, "a", "run a new stage");
	assert_plan(plan, "d", "run d input will rerun: b, c");  /* its key cannot be known yet */
	ck_assert_ptr_nonnull(strstr(plan, "plan: 4 to run, 0 cached (4 stages)"));
	free(plan);

	run_wf(diamond, 2, 0, NULL, 0, &f, &sum);
	plan = plan_wf(diamond, NULL, 0);
	ck_assert_ptr_nonnull(strstr(plan, "plan: 0 to run, 4 cached (4 stages)"));
	free(plan);

	plan = plan_wf(diamond, value, 1);
	assert_plan(plan, "a", "run a params changed: value \"x\" -> \"y\"");
	assert_plan(plan, "b", "run b input will rerun: a");
	assert_plan(plan, "c", "run c input will rerun: a");
	ck_assert_ptr_nonnull(strstr(plan, "plan: 4 to run, 0 cached (4 stages)"));
	free(plan);

	/* Another value of a parameter that changes the key, not the output:
	 * plan cannot know that b will be cut off, and says why. */
	plan = plan_wf(diamond, salt, 1);
	assert_plan(plan, "a", "run a params changed: salt 0 -> 1");
	assert_plan(plan, "b", "run b input will rerun: a");
	free(plan);
	ck_assert_uint_eq(f.nstarted, 4);  /* plan started nothing */
}
END_TEST

/* A signal while a stage hangs: the executor is told to cancel, the running
 * stage ends as interrupted, nothing else starts, and the run is recorded
 * as interrupted. */
START_TEST(a_signal_cancels_running_stages)
{
	static const char wf[] = "name = \"s\";\n"
				 "stages = (\n"
				 "  { id = \"hang\"; kind = \"fake\"; },\n"
				 "  { id = \"a\"; kind = \"fake\"; },\n"
				 "  { id = \"b\"; kind = \"fake\"; inputs = [\"a\"]; }\n"
				 ");\n";
	struct sul_err err = SUL_ERR_INIT;
	struct fake_ex f;
	struct sul_sched_summary sum;
	struct sul_db *db;
	char *path;
	sqlite3_stmt *st;

	run_wf_signal(wf, 1, 0, NULL, 0, SIGINT, &f, &sum);
	ck_assert_int_eq(sum.interrupted_by, SIGINT);
	ck_assert(f.cancelled);
	ck_assert_uint_eq(f.nstarted, 1);  /* hang, and nothing after the signal */
	ck_assert_uint_eq(sum.failed, 1);
	ck_assert_uint_eq(sum.skipped, 2);
	ck_assert_uint_eq(sum.ran, 0);

	path = sul_xasprintf("%s/.sulcus/sulcus.db", root);
	ck_assert_int_eq(sul_db_open(path, SUL_DB_READONLY, &db, &err), 0);
	st = sul_db_stmt(db, &err,
			 "SELECT (SELECT status FROM runs), "
			 "(SELECT status || ': ' || reason FROM executions WHERE stage = 'hang'), "
			 "(SELECT status || ': ' || reason FROM executions WHERE stage = 'a'), "
			 "(SELECT status || ': ' || reason FROM executions WHERE stage = 'b')",
			 "");
	ck_assert_int_eq(sul_db_step(db, st, &err), 1);
	ck_assert_str_eq(sul_db_text(st, 0), "interrupted");
	ck_assert_str_eq(sul_db_text(st, 1), "failed: interrupted (SIGTERM)");
	ck_assert_str_eq(sul_db_text(st, 2), "skipped: not started: the run was interrupted");
	ck_assert_str_eq(sul_db_text(st, 3), "skipped: input 'a' was skipped");
	sqlite3_reset(st);
	sul_db_close(db);
	free(path);
}
END_TEST

SUL_SUITE(sched)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("fake executor");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, order_follows_the_graph_within_j);
	tcase_add_test(tc, j1_runs_one_at_a_time);
	tcase_add_test(tc, keep_going_runs_the_independent_branch);
	tcase_add_test(tc, a_failure_stops_new_starts);
	tcase_add_test(tc, same_output_cuts_off_downstream);
	tcase_add_test(tc, plan_says_why);
	tcase_add_test(tc, a_signal_cancels_running_stages);
	suite_add_tcase(s, tc);
	return s;
}
