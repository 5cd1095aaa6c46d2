/*
 * prov.h - what the engine records in the database, and reads back: runs,
 * executions, published outputs with their files and metrics, the file
 * digest memo, and the history `plan` explains changes against.
 * Callers group writes in transactions (sul_db_begin/commit).
 */
#ifndef SUL_PROV_H
#define SUL_PROV_H

#include "db.h"
#include "hash.h"
#include "stagekey.h"
#include "strbuf.h"
#include "workflow.h"

/* A digest memo backed by the file_digests table; writes only if writable. */
struct sul_prov_memo {
	struct sul_digest_memo memo;
	struct sul_db *db;
	int writable;
};
void sul_prov_memo_init(struct sul_prov_memo *m, struct sul_db *db, int writable);

int sul_prov_run_begin(struct sul_db *db, const struct sul_workflow *wf, const char *argv_json,
		       const char *executor, long long *run_id, struct sul_err *err);
/* Ends a run, and in the same transaction closes every execution of it
 * still 'running' as failed, "cancelled: why" (the engine stopped on an
 * error of its own: no row may stay 'running' after it exits). */
int sul_prov_run_end(struct sul_db *db, long long run_id, const char *status, const char *why,
		     struct sul_err *err);

struct sul_exec_row {
	long long run_id;
	const struct sul_stage *st;
	const struct sul_stage_key *key;  /* NULL: key unknown (skipped early) */
	const char *status;
	const char *reason;
	const char *log_path;
};
int sul_prov_exec_insert(struct sul_db *db, const struct sul_exec_row *row, long long *exec_id,
			 struct sul_err *err);

struct sul_exec_end {
	const char *status;
	const char *reason;
	double wall_s, cpu_s;
	long max_rss_kb;
	int exit_code;
};
int sul_prov_exec_finish(struct sul_db *db, long long exec_id, const struct sul_exec_end *end,
			 struct sul_err *err);

/* The jobs table (schema version 2): how an execution was run. */
int sul_prov_job_insert(struct sul_db *db, long long exec_id, const char *executor, const char *job_id,
			const char *resources_json, struct sul_err *err);
int sul_prov_job_finish(struct sul_db *db, long long exec_id, const char *node, const char *state,
			int exit_code, int signal, double wall_s, struct sul_err *err);

/* Records outputs, artifacts and metrics of the entry for key unless already
 * recorded; ran: the stage has just run, and when its key was recorded
 * already, its rows replace the old ones. */
int sul_prov_record_output(struct sul_db *db, const char *cache_dir, const struct sul_kind *kind, const char *key,
			   int ran, struct sul_err *err);

/* Deletes the outputs and artifacts rows of key, committed before a stage
 * that may publish (or replace) its entry starts: until the stage's result
 * is recorded, readers take the digest from the entry's manifest (cache.h). */
int sul_prov_forget_output(struct sul_db *db, const char *key, struct sul_err *err);

/* The log of the execution that produced key, or NULL.  Caller frees. */
char *sul_prov_log_of(struct sul_db *db, const char *key);

/* The last execution of a stage id that computed a key (ran, cached or
 * failed), in a run of the workflow named workflow_name: a stage of
 * another workflow that happens to share its id is not its past. */
struct sul_prev_exec {
	int found;
	int kind_version;
	char *kind, *status, *cache_key, *params_json, *keys_json, *inputs_json, *files_json;
};
int sul_prov_prev_exec(struct sul_db *db, const char *workflow_name, const char *stage, struct sul_prev_exec *prev,
		       struct sul_err *err);
void sul_prov_prev_release(struct sul_prev_exec *prev);

/*
 * Compares two JSON objects key by key and appends the differences as
 * "name old -> new" (or "name added" / "name removed"), comma-separated;
 * with names_only, just the names, "(added)" or "(removed)" after those on
 * one side only.  Returns the number of differences.
 */
int sul_prov_json_diff(struct sul_db *db, const char *old_json, const char *new_json, int names_only,
		       struct sul_buf *out, struct sul_err *err);

#endif
