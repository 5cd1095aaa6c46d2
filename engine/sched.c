/*
 * sched.c - the scheduler behind `sulcus run` and `sulcus plan` (see sched.h).
 *
 * The engine process is single-threaded.  Parallelism comes from the
 * executor's jobs; the loop below resolves every stage whose inputs are
 * final, starts ready stages up to the job limit, then blocks until a job
 * ends or a signal arrives; while progress is shown (progress.h) it wakes
 * every 0.25 s (terminal) or 1 s (elsewhere) to follow the running stages'
 * logs.  Database writes of one pass share a transaction.  It never
 * interprets a stage's output beyond its digest.
 */
#include "sched.h"
#include "cache.h"
#include "clock.h"
#include "dag.h"
#include "jobfile.h"
#include "fault.h"
#include "fsutil.h"
#include "progress.h"
#include "prov.h"
#include "stagekey.h"
#include "strmap.h"

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Less free space than this, and a failed stage's message says the disk is full. */
#define DISK_FULL_BYTES (4ULL << 20)

enum node_state {
	N_WAIT,       /* inputs not final yet */
	N_READY,      /* key known, not cached: to run */
	N_RUNNING,
	N_DONE,       /* ran or cached: digest known */
	N_FAILED,
	N_SKIPPED,
	N_EXCLUDED,   /* not selected by --only */
	N_WILLRUN,    /* plan: would run (digest unknown) */
};

struct node {
	enum node_state state;
	size_t npending;
	int forced;
	int has_key;
	struct sul_stage_key key;
	sul_hex digest;
	char *reason;
	long long exec_id;
	char *staging, *jobfile_path, *result_path, *script_path, *log_path;
};

struct sched {
	const struct sul_workflow *wf;
	struct sul_workspace *ws;
	struct sul_executor *ex;
	const struct sul_sched_opts *o;
	struct sul_sched_summary *sum;
	struct node *nodes;
	size_t *order;                /* topological order */
	size_t *users, *users_off;    /* reverse edges, CSR */
	size_t *queue, qhead, qtail;  /* stages whose inputs are final */
	size_t *ready, rhead, rtail;  /* stages to start */
	struct sul_prov_memo memo;
	struct sul_strmap present;    /* cache entries on disk when we started (load_cache_index) */
	char **names;                 /* its keys */
	char **digests;
	size_t nnames, ndigests;
	int plan;
	int stopping;                 /* 1 after a failure (no --keep-going), 2 on a signal */
	FILE *out;
	int width;
	struct sul_progress prog;     /* running stages' progress (run only) */
};

static int matches_any(const char *id, const char *const *pats, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fnmatch(pats[i], id, 0))
			return 1;
	return 0;
}

static int check_patterns(const struct sul_workflow *wf, const char *opt, const char *const *pats,
			  size_t n, struct sul_err *err)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < wf->nstages; j++)
			if (!fnmatch(pats[i], wf->stages[j].id, 0))
				break;
		if (j == wf->nstages)
			return sul_err_set(err, SUL_ERR_INPUT, "%s '%s': no stage of '%s' matches", opt, pats[i],
					   wf->path);
	}
	return 0;
}

int sul_sched_check_selection(const struct sul_workflow *wf, const struct sul_sched_opts *o,
			      struct sul_err *err)
{
	if (check_patterns(wf, "--force", o->force, o->nforce, err))
		return -1;
	return check_patterns(wf, "--only", o->only, o->nonly, err);
}

static void say(struct sched *s, const char *state, const struct sul_stage *st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say(struct sched *s, const char *state, const struct sul_stage *st, const char *fmt, ...)
{
	va_list ap;

	if (!s->out)
		return;
	sul_progress_clear(&s->prog);
	if (!fmt || !*fmt) {
		fprintf(s->out, "%-8s %s\n", state, st->id);
		return;
	}
	fprintf(s->out, "%-8s %-*s", state, s->width, st->id);
	{
		fputs("  ", s->out);
		va_start(ap, fmt);
		vfprintf(s->out, fmt, ap);
		va_end(ap);
	}
	fputc('\n', s->out);
	fflush(s->out);
}

/*
 * One listing of the cache folder and one query for the digests of what it
 * holds, instead of opening a manifest per stage: `plan` on an up-to-date
 * 10,000-stage workflow then makes no system call per stage.  The map's
 * value is 0 for an entry whose digest the database lacks (an engine killed
 * between publish and record), else 1 + its index in s->digests.
 */
static int load_cache_index(struct sched *s, struct sul_err *err)
{
	struct dirent *de;
	DIR *d = opendir(s->ws->cache_dir);
	sqlite3_stmt *q;
	size_t alloc = 0;
	int r;

	if (!d)
		return 0;  /* no cache yet */
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != SUL_HEX_LEN)
			continue;
		SUL_ALLOC_GROW(s->names, s->nnames + 1, alloc);
		s->names[s->nnames] = sul_xstrdup(de->d_name);
		sul_strmap_put(&s->present, s->names[s->nnames], 0);
		s->nnames++;
	}
	closedir(d);
	if (!s->ws->db)
		return 0;
	q = sul_db_stmt(s->ws->db, err, "SELECT cache_key, digest FROM outputs", "");
	if (!q)
		return -1;
	alloc = 0;
	while ((r = sul_db_step(s->ws->db, q, err)) > 0) {
		const char *key = sul_db_text(q, 0), *digest = sul_db_text(q, 1);
		if (sul_strmap_get(&s->present, key) < 0 || strlen(digest) != SUL_HEX_LEN)
			continue;
		SUL_ALLOC_GROW(s->digests, s->ndigests + 1, alloc);
		s->digests[s->ndigests++] = sul_xstrdup(digest);
		/* The map already holds an equal key string that we own: this only updates the value. */
		sul_strmap_put(&s->present, key, (long)s->ndigests);
	}
	sqlite3_reset(q);
	return r < 0 ? -1 : 0;
}

/* 1 and digest filled when key has a cache entry, 0 when not, -1 on error. */
static int lookup(struct sched *s, const char *key, sul_hex digest, struct sul_err *err)
{
	long v = sul_strmap_get(&s->present, key);

	if (v < 0)
		return 0;
	if (v > 0) {
		memcpy(digest, s->digests[v - 1], sizeof(sul_hex));
		return 1;
	}
	return sul_cache_lookup(s->ws->cache_dir, key, digest, err);
}

static int init(struct sched *s, struct sul_err *err)
{
	const struct sul_workflow *wf = s->wf;
	size_t n = wf->nstages, i, j;
	unsigned char *mark = sul_xcalloc(n ? n : 1, 1);
	size_t *fill;

	s->nodes = sul_xcalloc(n ? n : 1, sizeof(*s->nodes));
	s->order = sul_xmalloc((n ? n : 1) * sizeof(*s->order));
	s->queue = sul_xmalloc((n ? n : 1) * sizeof(*s->queue));
	s->ready = sul_xmalloc((n ? n : 1) * sizeof(*s->ready));
	sul_dag_topo_order(wf->dag, n, s->order);

	s->users_off = sul_xcalloc(n + 1, sizeof(*s->users_off));
	for (i = 0; i < n; i++)
		for (j = 0; j < wf->stages[i].ninputs; j++)
			s->users_off[wf->stages[i].input_idx[j] + 1]++;
	for (i = 0; i < n; i++)
		s->users_off[i + 1] += s->users_off[i];
	s->users = sul_xmalloc((s->users_off[n] + 1) * sizeof(*s->users));
	fill = sul_xcalloc(n ? n : 1, sizeof(*fill));
	for (i = 0; i < n; i++)
		for (j = 0; j < wf->stages[i].ninputs; j++) {
			size_t in = wf->stages[i].input_idx[j];
			s->users[s->users_off[in] + fill[in]++] = i;
		}
	free(fill);

	for (i = 0; i < n; i++)
		mark[i] = !s->o->nonly || matches_any(wf->stages[i].id, s->o->only, s->o->nonly);
	if (s->o->nonly)
		sul_dag_mark_ancestors(wf->dag, n, mark);
	s->width = 8;
	for (i = 0; i < n; i++) {
		struct node *nd = &s->nodes[i];
		const struct sul_stage *st = &wf->stages[i];
		int len = (int)strlen(st->id);

		nd->state = mark[i] ? N_WAIT : N_EXCLUDED;
		nd->npending = st->ninputs;
		nd->forced = matches_any(st->id, s->o->force, s->o->nforce);
		if (mark[i] && len > s->width)
			s->width = len > 40 ? 40 : len;
	}
	/* Seed in topological order so that the queue stays in that order. */
	for (i = 0; i < n; i++)
		if (s->nodes[s->order[i]].state == N_WAIT && !s->nodes[s->order[i]].npending)
			s->queue[s->qtail++] = s->order[i];
	free(mark);
	return load_cache_index(s, err);
}

static void release(struct sched *s)
{
	size_t i;

	for (i = 0; s->nodes && i < s->wf->nstages; i++) {
		struct node *nd = &s->nodes[i];
		sul_stage_key_release(&nd->key);
		free(nd->reason);
		free(nd->staging);
		free(nd->jobfile_path);
		free(nd->result_path);
		free(nd->script_path);
		free(nd->log_path);
	}
	free(s->nodes);
	free(s->order);
	free(s->users);
	free(s->users_off);
	free(s->queue);
	free(s->ready);
	for (i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	for (i = 0; i < s->ndigests; i++)
		free(s->digests[i]);
	free(s->digests);
	sul_strmap_release(&s->present);
}

/* A stage became final: its users may now be resolvable. */
static void propagate(struct sched *s, size_t i)
{
	size_t j;

	for (j = s->users_off[i]; j < s->users_off[i + 1]; j++) {
		struct node *u = &s->nodes[s->users[j]];
		if (u->state == N_WAIT && --u->npending == 0)
			s->queue[s->qtail++] = s->users[j];
	}
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGINT: return "SIGINT";
	case SIGTERM: return "SIGTERM";
	case SIGHUP: return "SIGHUP";
	case SIGKILL: return "SIGKILL";
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	default: return "a signal";
	}
}

/* Why a stage must run, compared with the last recorded execution of its id. */
static int explain(struct sched *s, size_t i, struct sul_buf *why, struct sul_err *err)
{
	const struct sul_stage *st = &s->wf->stages[i];
	struct node *nd = &s->nodes[i];
	struct sul_db *db = s->ws->db;
	struct sul_prev_exec prev;
	struct sul_buf part = SUL_BUF_INIT;
	int ret = -1, r;

	if (nd->forced) {
		sul_buf_adds(why, "forced");
		return 0;
	}
	if (sul_prov_prev_exec(db, s->wf->name, st->id, &prev, err))
		return -1;
	sul_stage_key_json(&nd->key, st);
	if (!prev.found) {
		sul_buf_adds(why, "new stage");
		ret = 0;
		goto out;
	}
#define ADD_PART(...)                                            \
	do {                                                     \
		if (why->len)                                    \
			sul_buf_adds(why, "; ");                 \
		sul_buf_addf(why, __VA_ARGS__);                  \
	} while (0)
	if (strcmp(prev.kind, st->kind->name))
		ADD_PART("kind changed: %s -> %s", prev.kind, st->kind->name);
	else if (prev.kind_version != st->kind->version)
		ADD_PART("kind version changed: %d -> %d", prev.kind_version, st->kind->version);
	if ((r = sul_prov_json_diff(db, prev.params_json, nd->key.params_json, 0, &part, err)) < 0)
		goto out;
	if (r)
		ADD_PART("params changed: %s", part.buf);
	sul_buf_reset(&part);
	if ((r = sul_prov_json_diff(db, prev.keys_json, nd->key.keys_json, 1, &part, err)) < 0)
		goto out;
	if (r)
		ADD_PART("%s changed", part.buf);
	sul_buf_reset(&part);
	if ((r = sul_prov_json_diff(db, prev.inputs_json, nd->key.inputs_json, 1, &part, err)) < 0)
		goto out;
	if (r)
		ADD_PART("input changed: %s", part.buf);
	sul_buf_reset(&part);
	if ((r = sul_prov_json_diff(db, prev.files_json, nd->key.files_json, 1, &part, err)) < 0)
		goto out;
	if (r)
		ADD_PART("file changed: %s", part.buf);
	if (!why->len) {
		if (!strcmp(prev.status, "failed"))
			ADD_PART("last run failed");
		else if (!strcmp(prev.status, "running") && sul_workspace_in_use(s->ws))
			ADD_PART("running now in another sulcus run");
		else if (!strcmp(prev.status, "running"))
			ADD_PART("last run was interrupted");
		else if (!strcmp(prev.cache_key, nd->key.key))
			ADD_PART("output no longer in the cache");
		else
			ADD_PART("cache key changed");
	}
#undef ADD_PART
	ret = 0;
out:
	sul_buf_release(&part);
	sul_prov_prev_release(&prev);
	return ret;
}

static int record_simple(struct sched *s, size_t i, const char *status, const char *reason,
			 const char *log, struct sul_err *err)
{
	struct sul_exec_row row;

	if (s->plan)
		return 0;
	if (s->nodes[i].has_key)
		sul_stage_key_json(&s->nodes[i].key, &s->wf->stages[i]);
	row.run_id = s->sum->run_id;
	row.st = &s->wf->stages[i];
	row.key = s->nodes[i].has_key ? &s->nodes[i].key : NULL;
	row.status = status;
	row.reason = reason;
	row.log_path = log;
	return sul_prov_exec_insert(s->ws->db, &row, NULL, err);
}

static int skip(struct sched *s, size_t i, const char *reason, struct sul_err *err)
{
	struct node *nd = &s->nodes[i];

	nd->state = N_SKIPPED;
	/* A stage that was ready when the run stopped has its reason to run. */
	free(nd->reason);
	nd->reason = sul_xstrdup(reason);
	s->sum->skipped++;
	if (!s->o->quiet)
		say(s, "skipped", &s->wf->stages[i], "(%s)", reason);
	propagate(s, i);
	return record_simple(s, i, "skipped", reason, NULL, err);
}

/* Every input of stage i is final: decide whether it is cached, runs, or is skipped. */
static int resolve(struct sched *s, size_t i, struct sul_err *err)
{
	const struct sul_stage *st = &s->wf->stages[i];
	struct node *nd = &s->nodes[i];
	struct sul_buf why = SUL_BUF_INIT;
	sul_hex *digests;
	size_t j;
	int r, ret = -1;

	for (j = 0; j < st->ninputs; j++) {
		const struct node *in = &s->nodes[st->input_idx[j]];
		if (in->state == N_FAILED || in->state == N_SKIPPED) {
			char reason[512];
			snprintf(reason, sizeof(reason), "input '%s' %s", st->inputs[j],
				 in->state == N_FAILED ? "failed" : "was skipped");
			return skip(s, i, reason, err);
		}
	}
	if (s->plan) {
		for (j = 0; j < st->ninputs; j++)
			if (s->nodes[st->input_idx[j]].state == N_WILLRUN) {
				if (!why.len)
					sul_buf_adds(&why, "input will rerun: ");
				else
					sul_buf_adds(&why, ", ");
				sul_buf_adds(&why, st->inputs[j]);
			}
		if (why.len) {
			nd->state = N_WILLRUN;
			nd->reason = sul_buf_detach(&why);
			propagate(s, i);
			return 0;
		}
	}
	if (s->stopping)
		return skip(s, i, s->stopping == 1 ? "not started: an earlier stage failed (--keep-going runs "
						     "independent stages)"
						   : "not started: the run was interrupted",
			    err);

	digests = sul_xcalloc(st->ninputs ? st->ninputs : 1, sizeof(*digests));
	for (j = 0; j < st->ninputs; j++)
		memcpy(digests[j], s->nodes[st->input_idx[j]].digest, sizeof(sul_hex));
	r = sul_stage_key_compute(s->wf, st, digests, &s->memo.memo, &nd->key, err);
	free(digests);
	if (r) {
		/* A stage whose key cannot be computed (a missing data folder) fails alone. */
		nd->state = N_FAILED;
		nd->reason = sul_xstrdup(err->msg);
		s->sum->failed++;
		if (!s->plan && !s->o->keep_going && !s->stopping)
			s->stopping = 1;
		say(s, s->plan ? "error" : "FAILED", st, "%s", err->msg);
		propagate(s, i);
		sul_err_clear(err);
		return record_simple(s, i, "failed", nd->reason, NULL, err);
	}
	nd->has_key = 1;
	if (!nd->forced) {
		r = lookup(s, nd->key.key, nd->digest, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			char *log = NULL;
			nd->state = N_DONE;
			s->sum->cached++;
			if (s->plan || s->o->verbose)
				say(s, "cached", st, NULL);
			propagate(s, i);
			if (s->plan)
				return 0;
			log = sul_prov_log_of(s->ws->db, nd->key.key);
			ret = record_simple(s, i, "cached", NULL, log, err);
			free(log);
			if (!ret)
				ret = sul_prov_record_output(s->ws->db, s->ws->cache_dir, st->kind, nd->key.key, 0, err);
			return ret;
		}
	}
	if (s->ws->db ? explain(s, i, &why, err) : (sul_buf_adds(&why, "new stage"), 0)) {
		sul_buf_release(&why);
		return -1;
	}
	nd->reason = sul_buf_detach(&why);
	if (s->plan) {
		nd->state = N_WILLRUN;
		propagate(s, i);
		return 0;
	}
	nd->state = N_READY;
	s->ready[s->rtail++] = i;
	return 0;
}

static int start(struct sched *s, size_t i, struct sul_err *err)
{
	const struct sul_stage *st = &s->wf->stages[i];
	struct node *nd = &s->nodes[i];
	struct sul_jobfile d;
	struct sul_input *ins;
	struct sul_exec_row row;
	struct sul_job job;
	struct sul_buf res = SUL_BUF_INIT;
	char job_id[SUL_JOB_ID_MAX];
	char *logdir;
	size_t j;
	int r;

	nd->staging = sul_xasprintf("%s/%s.%ld.%zu", s->ws->tmp_dir, nd->key.key, (long)getpid(), i);
	nd->jobfile_path = sul_xasprintf("%s.job", nd->staging);
	nd->result_path = sul_xasprintf("%s.result", nd->staging);
	nd->script_path = sul_xasprintf("%s.sh", nd->staging);
	logdir = sul_xasprintf("%s/%lld", s->ws->logs_dir, s->sum->run_id);
	nd->log_path = sul_xasprintf("%s/%s.log", logdir, st->id);
	if (sul_mkdirs(logdir, err)) {
		free(logdir);
		return -1;
	}
	free(logdir);

	ins = sul_xcalloc(st->ninputs ? st->ninputs : 1, sizeof(*ins));
	for (j = 0; j < st->ninputs; j++) {
		ins[j].id = st->inputs[j];
		ins[j].dir = sul_xasprintf("%s/%s/out", s->ws->cache_dir, s->nodes[st->input_idx[j]].key.key);
		ins[j].kind = s->wf->stages[st->input_idx[j]].kind->name;
	}
	memset(&d, 0, sizeof(d));
	d.id = st->id;
	d.kind = (char *)st->kind->name;
	d.version = st->kind->version;
	d.key = nd->key.key;
	d.workdir = s->wf->dir;
	d.staging = nd->staging;
	d.cache = s->ws->cache_dir;
	d.result = nd->result_path;
	d.params = st->params;
	d.nparams = st->nparams;
	d.keys = st->keys;
	d.nkeys = st->nkeys;
	d.inputs = ins;
	d.ninputs = st->ninputs;
	unlink(nd->result_path);
	r = s->ex->needs_jobfile ? sul_jobfile_write(nd->jobfile_path, &d, err) : 0;
	if (r)
		goto out;

	sul_stage_key_json(&nd->key, st);
	row.run_id = s->sum->run_id;
	row.st = st;
	row.key = &nd->key;
	row.status = "running";
	row.reason = nd->reason;
	row.log_path = nd->log_path;
	/* The entry's rows go before the stage can publish: a kill before its
	 * record then leaves no row to disagree with the entry (cache.h). */
	r = -1;
	if (sul_db_begin(s->ws->db, err))
		goto out;
	if (sul_prov_forget_output(s->ws->db, nd->key.key, err)
	    || sul_prov_exec_insert(s->ws->db, &row, &nd->exec_id, err) || sul_db_commit(s->ws->db, err)) {
		sul_db_rollback(s->ws->db);
		goto out;
	}
	memset(&job, 0, sizeof(job));
	job.tag = i;
	job.stage_id = st->id;
	job.jobfile_path = nd->jobfile_path;
	job.jobfile = &d;
	job.log_path = nd->log_path;
	job.workdir = s->wf->dir;
	job.script_path = nd->script_path;
	job.resources = &st->resources;
	if (!s->o->quiet)
		say(s, "run", st, "(%s)", nd->reason);
	if (s->ex->start(s->ex, &job, job_id, err)) {
		sul_err_prefix(err, "stage '%s'", st->id);
		goto out;
	}
	nd->state = N_RUNNING;
	sul_progress_add(&s->prog, i, st->id, nd->log_path, sul_now_s());
	sul_resources_json(&st->resources, &res);
	r = sul_prov_job_insert(s->ws->db, nd->exec_id, s->ex->name, job_id, res.buf, err);
	sul_buf_release(&res);
out:
	for (j = 0; j < st->ninputs; j++)
		free((char *)ins[j].dir);
	free(ins);
	return r;
}

/* The last lines of a log, for the terminal and the database. */
static void log_tail(const char *path, int lines, struct sul_buf *out)
{
	char buf[4096];
	ssize_t n;
	off_t size;
	int fd = open(path, O_RDONLY | O_CLOEXEC), count = 0;
	char *p;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (p = buf + n; p > buf; p--)
		if (p[-1] == '\n' && ++count == lines)
			break;
	sul_buf_adds(out, p);
}

/* A stage that fails on a full disk often cannot say so: its log is on
 * that disk too.  The engine can: it looks when a stage fails. */
static void disk_full_note(const char *root, struct sul_buf *msg)
{
	struct statvfs v;

	if (statvfs(root, &v))
		return;
	if (sul_fault_fail("statvfs"))
		v.f_bavail = 0;  /* tests: as if full */
	if ((unsigned long long)v.f_bavail * v.f_frsize < DISK_FULL_BYTES)
		sul_buf_addf(msg, "%sthe file system of '%s' is full (%llu KiB free)", msg->len ? "; " : "", root,
			     (unsigned long long)v.f_bavail * v.f_frsize / 1024);
}

static int finish(struct sched *s, const struct sul_job_end *end, struct sul_err *err)
{
	size_t i = end->tag;
	const struct sul_stage *st = &s->wf->stages[i];
	struct node *nd = &s->nodes[i];
	struct sul_buf msg = SUL_BUF_INIT, tail = SUL_BUF_INIT;
	struct sul_exec_end e;
	int r, found, ok = 0, ret = -1;

	sul_progress_remove(&s->prog, i);
	r = sul_result_read(nd->result_path, &msg);
	/* Whether the stage succeeded or not, an entry may be there: its new
	 * output, or the one a failed forced rerun left. */
	found = sul_cache_lookup(s->ws->cache_dir, nd->key.key, nd->digest, err);
	if (found < 0)
		goto out;
	if (r == 1) {
		ok = found > 0;
		if (!ok)
			sul_buf_adds(&msg, "the stage reported success but its output is not in the cache");
	} else if (r < 0 && (!strcmp(end->state, "COMPLETED") || !strcmp(end->state, "FAILED"))
		   && !sul_path_exists(nd->log_path)) {
		/* The job ran, yet never wrote to the workspace: it cannot see it. */
		sul_buf_addf(&msg, "the job left no result and no log: is the workspace '%s' on a file system "
				   "that the %s executor's hosts share?",
			     s->ws->root, s->ex->name);
	} else if (r < 0) {
		if (s->stopping == 2 && end->signal)
			sul_buf_addf(&msg, "interrupted (%s)", signame(end->signal));
		else if (end->signal)
			sul_buf_addf(&msg, "killed by signal %d (%s) before reporting a result", end->signal,
				     signame(end->signal));
		else
			sul_buf_addf(&msg, "exited with status %d before reporting a result "
					   "(did a library call exit()?)", end->exit_code);
	}
	if (*end->detail)
		sul_buf_addf(&msg, " (%s)", end->detail);
	unlink(nd->jobfile_path);
	unlink(nd->result_path);
	unlink(nd->script_path);

	if (!ok) {
		disk_full_note(s->ws->root, &msg);
		log_tail(nd->log_path, 10, &tail);
		if (tail.len)
			sul_buf_addf(&msg, "\nlog tail:\n%s", tail.buf);
	}
	memset(&e, 0, sizeof(e));
	e.status = ok ? "ran" : "failed";
	e.reason = ok ? NULL : msg.buf;
	e.wall_s = end->wall_s;
	e.cpu_s = end->cpu_s;
	e.max_rss_kb = end->max_rss_kb;
	e.exit_code = end->exit_code;
	sul_fault_crash("finish-before-record");
	if (sul_db_begin(s->ws->db, err))
		goto out;
	if (sul_prov_exec_finish(s->ws->db, nd->exec_id, &e, err)
	    || sul_prov_job_finish(s->ws->db, nd->exec_id, end->node, end->state, end->exit_code, end->signal,
				   end->wall_s, err)
	    || (found && sul_prov_record_output(s->ws->db, s->ws->cache_dir, st->kind, nd->key.key, ok, err))
	    || sul_db_commit(s->ws->db, err)) {
		sul_db_rollback(s->ws->db);
		goto out;
	}
	if (ok) {
		nd->state = N_DONE;
		s->sum->ran++;
		if (!s->o->quiet)
			say(s, "ok", st, "%.2f s", end->wall_s);
	} else {
		char *first = sul_xstrndup(msg.buf, strcspn(msg.buf, "\n"));
		nd->state = N_FAILED;
		s->sum->failed++;
		if (!s->o->keep_going && !s->stopping)
			s->stopping = 1;
		say(s, "FAILED", st, "%s", first);
		free(first);
		if (s->out) {
			fprintf(s->out, "%*s log: %s\n", 8, "", nd->log_path);
			if (tail.len) {
				char *line = tail.buf, *nl;
				for (; line; line = nl ? nl + 1 : NULL) {
					nl = strchr(line, '\n');
					fprintf(s->out, "%*s | %.*s\n", 8, "",
						(int)(nl ? (size_t)(nl - line) : strlen(line)), line);
				}
			}
		}
	}
	propagate(s, i);
	ret = 0;
out:
	sul_buf_release(&msg);
	sul_buf_release(&tail);
	return ret;
}

static int resolve_queue(struct sched *s, struct sul_err *err)
{
	int in_tx = 0, ret = -1;

	if (s->qhead == s->qtail)
		return 0;
	if (!s->plan) {
		if (sul_db_begin(s->ws->db, err))
			return -1;
		in_tx = 1;
	}
	while (s->qhead < s->qtail)
		if (resolve(s, s->queue[s->qhead++], err))
			goto out;
	if (in_tx && sul_db_commit(s->ws->db, err))
		goto out;
	in_tx = 0;
	ret = 0;
out:
	if (in_tx)
		sul_db_rollback(s->ws->db);
	return ret;
}

static int pending_signal(const sigset_t *set)
{
	struct timespec zero = { 0, 0 };
	sigset_t only = *set;

	sigdelset(&only, SIGCHLD);
	return sigtimedwait(&only, NULL, &zero);
}

static int loop(struct sched *s, struct sul_err *err)
{
	sigset_t set;

	sul_run_signals(&set);
	for (;;) {
		struct sul_job_end end;
		int sig = 0, r;

		if (resolve_queue(s, err))
			return -1;
		if (!s->stopping && (sig = pending_signal(&set)) > 0)
			goto interrupted;
		while (s->rhead < s->rtail && !s->stopping && s->ex->running(s->ex) < (size_t)s->o->jobs)
			if (start(s, s->ready[s->rhead++], err))
				return -1;
		if (s->stopping) {
			int any = 0;
			if (sul_db_begin(s->ws->db, err))
				return -1;
			while (s->rhead < s->rtail) {
				any = 1;
				if (skip(s, s->ready[s->rhead++],
					 s->stopping == 1 ? "not started: an earlier stage failed (--keep-going runs "
							    "independent stages)"
							  : "not started: the run was interrupted",
					 err)) {
					sul_db_rollback(s->ws->db);
					return -1;
				}
			}
			if (sul_db_commit(s->ws->db, err))
				return -1;
			if (any)
				continue;
		}
		if (!s->ex->running(s->ex)) {
			if (s->qhead == s->qtail && s->rhead == s->rtail)
				return 0;
			continue;
		}
		/* Wake up now and then to follow the running stages' logs. */
		do {
			sul_progress_update(&s->prog, sul_now_s());
			r = s->ex->wait(s->ex, sul_progress_tick_s(&s->prog), &end, &sig, err);
		} while (r == 2);
		if (r < 0)
			return -1;
		if (r > 0) {
			if (finish(s, &end, err))
				return -1;
			continue;
		}
interrupted:
		if (s->stopping != 2) {
			s->stopping = 2;
			s->sum->interrupted_by = sig;
			sul_progress_clear(&s->prog);
			if (s->out)
				fprintf(s->out, "sulcus: %s: stopping running stages\n", signame(sig));
			s->ex->cancel(s->ex);
		}
	}
}

int sul_sched_run(struct sul_workspace *ws, const struct sul_workflow *wf, struct sul_executor *ex,
		  const struct sul_sched_opts *o, struct sul_sched_summary *sum, struct sul_err *err)
{
	struct sched s;
	sigset_t set, old;
	double t0 = sul_now_s();
	const char *status;
	double interval;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	memset(sum, 0, sizeof(*sum));
	s.wf = wf;
	s.ws = ws;
	s.ex = ex;
	s.o = o;
	s.sum = sum;
	s.out = o->progress;
	/* Off (and safe to release) until init() has measured the stage ids. */
	sul_progress_init(&s.prog, NULL, SUL_PROGRESS_OFF, 0, 0);
	if (sul_progress_interval(getenv("SULCUS_PROGRESS_INTERVAL"), &interval, err))
		return -1;
	sul_prov_memo_init(&s.memo, ws->db, 1);
	if (init(&s, err))
		goto out;
	sul_progress_init(&s.prog, s.out, sul_progress_mode_for(s.out, o->quiet), s.width, interval);
	if (sul_prov_run_begin(ws->db, wf, o->argv_json, ex->name, &sum->run_id, err))
		goto out;

	sul_run_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	ret = loop(&s, err);
	if (ret) {
		/* The engine itself failed: leave no stage running behind us. */
		ex->cancel(ex);
		while (ex->running(ex)) {
			struct sul_job_end end;
			int sig;
			struct sul_err ignored = SUL_ERR_INIT;
			if (ex->wait(ex, -1, &end, &sig, &ignored) < 0)
				break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	sul_progress_release(&s.prog);

	status = sum->interrupted_by ? "interrupted"
		 : ret || sum->failed || sum->skipped ? "failed" : "succeeded";
	{
		struct sul_err e2 = SUL_ERR_INIT;
		if (sul_prov_run_end(ws->db, sum->run_id, status, ret ? err->msg : NULL, ret ? &e2 : err))
			ret = -1;
	}
	if (s.out && !o->quiet)
		fprintf(s.out, "run %lld: %zu ran, %zu cached, %zu failed, %zu skipped (%.2f s)\n", sum->run_id,
			sum->ran, sum->cached, sum->failed, sum->skipped, sul_now_s() - t0);
out:
	sul_progress_release(&s.prog);
	release(&s);
	return ret;
}

int sul_sched_plan(struct sul_workspace *ws, const struct sul_workflow *wf,
		   const struct sul_sched_opts *o, FILE *out, struct sul_err *err)
{
	struct sul_sched_summary sum;
	struct sched s;
	size_t i, torun = 0;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	memset(&sum, 0, sizeof(sum));
	s.wf = wf;
	s.ws = ws;
	s.o = o;
	s.sum = &sum;
	s.plan = 1;
	s.out = out;
	sul_prov_memo_init(&s.memo, ws->db, 0);
	if (init(&s, err))
		goto out;
	/* Cached stages print as they resolve; stages to run print in order below. */
	s.out = NULL;
	while (s.qhead < s.qtail)
		if (resolve(&s, s.queue[s.qhead++], err))
			goto out;
	s.out = out;
	for (i = 0; i < wf->nstages; i++) {
		size_t k = s.order[i];
		const struct node *nd = &s.nodes[k];
		switch (nd->state) {
		case N_DONE: say(&s, "cached", &wf->stages[k], NULL); break;
		case N_WILLRUN: torun++; say(&s, "run", &wf->stages[k], "%s", nd->reason); break;
		case N_FAILED: say(&s, "error", &wf->stages[k], "%s", nd->reason); break;
		case N_SKIPPED: say(&s, "skip", &wf->stages[k], "%s", nd->reason); break;
		default: break;
		}
	}
	fprintf(out, "plan: %zu to run, %zu cached", torun, sum.cached);
	if (sum.failed)
		fprintf(out, ", %zu with errors", sum.failed);
	fprintf(out, " (%zu stages)\n", torun + sum.cached + sum.failed + sum.skipped);
	if (sum.failed) {
		sul_err_set(err, SUL_ERR_INPUT, "%zu stage%s cannot be planned (see above)", sum.failed,
			    sum.failed > 1 ? "s" : "");
		goto out;
	}
	ret = 0;
out:
	release(&s);
	return ret;
}
