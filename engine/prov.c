/* prov.c - provenance records and history queries (see prov.h). */
#include "prov.h"
#include "cache.h"
#include "clock.h"
#include "fsutil.h"
#include "metrics.h"
#include "tables.h"
#include "workspace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SULCUS_VERSION_STR SUL_STRINGIFY(SULCUS_VERSION)
#define SUL_STRINGIFY(x) SUL_STRINGIFY2(x)
#define SUL_STRINGIFY2(x) #x

static long long mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int memo_lookup(void *ctx, const char *path, const struct stat *st, sul_hex hex)
{
	struct sul_prov_memo *m = ctx;
	sqlite3_stmt *q;
	int found = 0;

	if (!m->db)
		return 0;
	q = sul_db_stmt(m->db, NULL,
			"SELECT sha256 FROM file_digests WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3 "
			"AND inode = ?4",
			"tiii", path, (long long)st->st_size, mtime_ns(st), (long long)st->st_ino);
	if (q && sqlite3_step(q) == SQLITE_ROW && strlen(sul_db_text(q, 0)) == SUL_HEX_LEN) {
		memcpy(hex, sul_db_text(q, 0), sizeof(sul_hex));
		found = 1;
	}
	if (q)
		sqlite3_reset(q);
	return found;
}

static void memo_store(void *ctx, const char *path, const struct stat *st, const sul_hex hex)
{
	struct sul_prov_memo *m = ctx;
	struct timespec now;

	if (!m->db || !m->writable)
		return;
	/* A file changed again within the clock's resolution of its mtime would
	 * keep (size, mtime): only remember digests of files that have been quiet
	 * for two seconds (git's "racy" entries). */
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - st->st_mtim.tv_sec < 2)
		return;
	sul_db_exec(m->db, NULL,
		    "INSERT OR REPLACE INTO file_digests (path, size, mtime_ns, inode, sha256) "
		    "VALUES (?1, ?2, ?3, ?4, ?5)",
		    "tiiit", path, (long long)st->st_size, mtime_ns(st), (long long)st->st_ino, hex);
}

void sul_prov_memo_init(struct sul_prov_memo *m, struct sul_db *db, int writable)
{
	m->memo.lookup = memo_lookup;
	m->memo.store = memo_store;
	m->memo.ctx = m;
	m->db = db;
	m->writable = writable;
}

int sul_prov_run_begin(struct sul_db *db, const struct sul_workflow *wf, const char *argv_json,
		       const char *executor, long long *run_id, struct sul_err *err)
{
	struct sul_buf ov = SUL_BUF_INIT;
	char now[64], host[256];
	size_t i;
	int r;

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	sul_buf_addc(&ov, '[');
	for (i = 0; i < wf->noverrides; i++) {
		if (i)
			sul_buf_adds(&ov, ", ");
		sul_buf_add_json_str(&ov, wf->overrides[i]);
	}
	sul_buf_addc(&ov, ']');
	sul_now_iso(now);
	r = sul_db_exec(db, err,
			"INSERT INTO runs (workflow, workflow_name, workflow_sha256, argv, overrides, executor, "
			"started_at, status, host, sulcus_version) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?9)",
			"ttttttttt", wf->path, wf->name, wf->sha256, argv_json, ov.buf, executor, now, host,
			SULCUS_VERSION_STR);
	sul_buf_release(&ov);
	if (r)
		return -1;
	*run_id = sqlite3_last_insert_rowid(sul_db_handle(db));
	return 0;
}

int sul_prov_run_end(struct sul_db *db, long long run_id, const char *status, const char *why,
		     struct sul_err *err)
{
	char *reason = sul_xasprintf("cancelled: %s", why ? why : "the run ended");
	char now[64];
	int r;

	sul_now_iso(now);
	r = sul_db_begin(db, err);
	if (!r)
		r = sul_db_exec(db, err,
				"UPDATE executions SET status = 'failed', finished_at = ?1, reason = ?2 "
				"WHERE run_id = ?3 AND status = 'running'",
				"tti", now, reason, run_id)
		    || sul_db_exec(db, err, "UPDATE runs SET status = ?1, finished_at = ?2 WHERE id = ?3", "tti",
				   status, now, run_id)
		    || sul_db_commit(db, err);
	if (r)
		sul_db_rollback(db);
	free(reason);
	return r ? -1 : 0;
}

int sul_prov_exec_insert(struct sul_db *db, const struct sul_exec_row *row, long long *exec_id,
			 struct sul_err *err)
{
	const struct sul_stage_key *k = row->key;
	struct sul_buf params = SUL_BUF_INIT, keys = SUL_BUF_INIT;
	char now[64];
	int r;

	sul_now_iso(now);
	if (!k) {
		sul_params_json(row->st->params, row->st->nparams, &params);
		sul_params_json(row->st->keys, row->st->nkeys, &keys);
	}
	r = sul_db_exec(db, err,
			"INSERT INTO executions (run_id, stage, kind, kind_version, cache_key, status, reason, "
			"params_json, keys_json, inputs_json, files_json, started_at, finished_at, log_path) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
			"ittItttttttttt", row->run_id, row->st->id, row->st->kind->name, row->st->kind->version,
			k ? k->key : NULL, row->status, row->reason, k ? k->params_json : params.buf,
			k ? k->keys_json : keys.buf, k ? k->inputs_json : "{}", k ? k->files_json : "{}",
			now, strcmp(row->status, "running") ? now : NULL, row->log_path);
	sul_buf_release(&params);
	sul_buf_release(&keys);
	if (r)
		return -1;
	if (exec_id)
		*exec_id = sqlite3_last_insert_rowid(sul_db_handle(db));
	return 0;
}

int sul_prov_exec_finish(struct sul_db *db, long long exec_id, const struct sul_exec_end *e,
			 struct sul_err *err)
{
	char now[64];

	sul_now_iso(now);
	return sul_db_exec(db, err,
			   "UPDATE executions SET status = ?1, reason = coalesce(?2, reason), finished_at = ?3, "
			   "wall_s = ?4, cpu_s = ?5, max_rss_kb = ?6, exit_code = ?7 WHERE id = ?8",
			   "tttddiIi", e->status, e->reason, now, e->wall_s, e->cpu_s, (long long)e->max_rss_kb,
			   e->exit_code, exec_id);
}

int sul_prov_job_insert(struct sul_db *db, long long exec_id, const char *executor, const char *job_id,
			const char *resources_json, struct sul_err *err)
{
	char now[64];

	sul_now_iso(now);
	return sul_db_exec(db, err,
			   "INSERT INTO jobs (execution_id, executor, job_id, resources, submitted_at) "
			   "VALUES (?1, ?2, ?3, ?4, ?5)",
			   "itttt", exec_id, executor, job_id, resources_json, now);
}

int sul_prov_job_finish(struct sul_db *db, long long exec_id, const char *node, const char *state,
			int exit_code, int signal, double wall_s, struct sul_err *err)
{
	return sul_db_exec(db, err,
			   "UPDATE jobs SET node = ?1, state = ?2, exit_code = ?3, signal = ?4, wall_s = ?5 "
			   "WHERE execution_id = ?6",
			   "ttIIdi", *node ? node : NULL, *state ? state : NULL, exit_code, signal, wall_s, exec_id);
}

struct metric_ctx {
	struct sul_db *db;
	const char *key;
};

static int insert_metric(void *vctx, const char *name, int has_step, long long step, double value,
			 struct sul_err *err)
{
	struct metric_ctx *m = vctx;

	if (has_step)
		return sul_db_exec(m->db, err, "INSERT INTO metrics (cache_key, name, step, value) VALUES (?1, ?2, ?3, ?4)",
				   "ttid", m->key, name, step, value);
	return sul_db_exec(m->db, err, "INSERT INTO metrics (cache_key, name, step, value) VALUES (?1, ?2, NULL, ?3)",
			   "ttd", m->key, name, value);
}

/* metrics.tsv and timings.tsv were validated by the stage before
 * publishing (stage_exec.c); both go to the metrics table. */
static int record_metrics(struct sul_db *db, const char *cache_dir, const char *key, struct sul_err *err)
{
	static const char *const files[] = { SUL_METRICS_FILE, SUL_TIMINGS_FILE };
	struct metric_ctx m = { db, key };
	size_t i;

	/* Idempotent: an entry published again after `gc` reports its metrics again. */
	if (sul_db_exec(db, err, "DELETE FROM metrics WHERE cache_key = ?1", "t", key))
		return -1;
	for (i = 0; i < 2; i++) {
		char *path = sul_xasprintf("%s/%s/out/%s", cache_dir, key, files[i]);
		struct sul_buf b = SUL_BUF_INIT;
		int r = sul_path_exists(path)
			&& (sul_read_file(path, &b, err) || sul_metrics_parse(b.buf, files[i], insert_metric, &m, err));
		sul_buf_release(&b);
		free(path);
		if (r)
			return -1;
	}
	return 0;
}

int sul_prov_record_output(struct sul_db *db, const char *cache_dir, const struct sul_kind *kind, const char *key,
			   int ran, struct sul_err *err)
{
	struct sul_tree tree;
	sqlite3_stmt *q;
	char now[64];
	size_t i;
	int r, recorded;

	q = sul_db_stmt(db, err, "SELECT 1 FROM outputs WHERE cache_key = ?1", "t", key);
	if (!q)
		return -1;
	r = sul_db_step(db, q, err);
	sqlite3_reset(q);
	if (r < 0)
		return -1;
	recorded = r > 0;
	if (recorded && !ran)
		return 0;
	if (sul_cache_read_manifest(cache_dir, key, &tree, err))
		return -1;
	/* A stage that ran with its key recorded already (normally forgotten
	 * before it started, see sul_prov_forget_output): its output replaced
	 * the entry (cache.c), and its rows replace the old ones. */
	if (recorded) {
		if (sul_db_exec(db, err, "DELETE FROM outputs WHERE cache_key = ?1", "t", key)
		    || sul_db_exec(db, err, "DELETE FROM artifacts WHERE cache_key = ?1", "t", key)) {
			sul_tree_release(&tree);
			return -1;
		}
	}
	sul_now_iso(now);
	r = sul_db_exec(db, err,
			"INSERT INTO outputs (cache_key, digest, files, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
			"ttiit", key, tree.digest, (long long)tree.n, (long long)tree.bytes, now);
	for (i = 0; i < tree.n && !r; i++)
		if (tree.entries[i].type == 'f')
			r = sul_db_exec(db, err,
					"INSERT OR REPLACE INTO artifacts (cache_key, path, sha256, bytes) "
					"VALUES (?1, ?2, ?3, ?4)",
					"ttti", key, tree.entries[i].path, tree.entries[i].sha256,
					(long long)tree.entries[i].bytes);
	sul_tree_release(&tree);
	if (!r)
		r = record_metrics(db, cache_dir, key, err);
	if (!r) {
		char *out = sul_xasprintf("%s/%s/out", cache_dir, key);
		r = sul_tables_import(db, kind, out, key, err);
		free(out);
	}
	return r;
}

int sul_prov_forget_output(struct sul_db *db, const char *key, struct sul_err *err)
{
	return sul_db_exec(db, err, "DELETE FROM outputs WHERE cache_key = ?1", "t", key)
	       || sul_db_exec(db, err, "DELETE FROM artifacts WHERE cache_key = ?1", "t", key);
}

char *sul_prov_log_of(struct sul_db *db, const char *key)
{
	sqlite3_stmt *q = sul_db_stmt(db, NULL,
				      "SELECT log_path FROM executions WHERE cache_key = ?1 AND status = 'ran' "
				      "ORDER BY id DESC LIMIT 1",
				      "t", key);
	char *log = NULL;

	if (q && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		log = sul_xstrdup(sul_db_text(q, 0));
	if (q)
		sqlite3_reset(q);
	return log;
}

int sul_prov_prev_exec(struct sul_db *db, const char *workflow_name, const char *stage, struct sul_prev_exec *p,
		       struct sul_err *err)
{
	sqlite3_stmt *q;
	int r;

	memset(p, 0, sizeof(*p));
	if (!db)
		return 0;
	q = sul_db_stmt(db, err,
			"SELECT kind, kind_version, status, cache_key, params_json, keys_json, inputs_json, "
			"files_json FROM executions WHERE stage = ?1 AND cache_key IS NOT NULL "
			"AND run_id IN (SELECT id FROM runs WHERE workflow_name = ?2) "
			"ORDER BY id DESC LIMIT 1",
			"tt", stage, workflow_name);
	if (!q)
		return -1;
	r = sul_db_step(db, q, err);
	if (r > 0) {
		p->found = 1;
		p->kind = sul_xstrdup(sul_db_text(q, 0));
		p->kind_version = sqlite3_column_int(q, 1);
		p->status = sul_xstrdup(sul_db_text(q, 2));
		p->cache_key = sul_xstrdup(sul_db_text(q, 3));
		p->params_json = sul_xstrdup(sul_db_text(q, 4));
		p->keys_json = sul_xstrdup(sul_db_text(q, 5));
		p->inputs_json = sul_xstrdup(sul_db_text(q, 6));
		p->files_json = sul_xstrdup(sul_db_text(q, 7));
	}
	sqlite3_reset(q);
	return r < 0 ? -1 : 0;
}

void sul_prov_prev_release(struct sul_prev_exec *p)
{
	free(p->kind);
	free(p->status);
	free(p->cache_key);
	free(p->params_json);
	free(p->keys_json);
	free(p->inputs_json);
	free(p->files_json);
	memset(p, 0, sizeof(*p));
}

int sul_prov_json_diff(struct sul_db *db, const char *old_json, const char *new_json, int names_only,
		       struct sul_buf *out, struct sul_err *err)
{
	/* SQLite's json_each does the parsing; values are compared as JSON text. */
	static const char sql[] =
		"SELECT coalesce(o.key, n.key), o.value IS NOT NULL, n.value IS NOT NULL, "
		"       CASE WHEN o.type = 'text' THEN json_quote(o.value) ELSE o.value END, "
		"       CASE WHEN n.type = 'text' THEN json_quote(n.value) ELSE n.value END "
		"FROM json_each(?1) o FULL OUTER JOIN json_each(?2) n ON o.key = n.key "
		"WHERE o.key IS NULL OR n.key IS NULL OR o.type IS NOT n.type OR o.value IS NOT n.value "
		"ORDER BY 1";
	sqlite3_stmt *q;
	int r, n = 0;

	if (!strcmp(old_json, new_json))
		return 0;
	q = sul_db_stmt(db, err, sql, "tt", old_json, new_json);
	if (!q)
		return -1;
	while ((r = sul_db_step(db, q, err)) > 0) {
		const char *name = sul_db_text(q, 0);
		if (n++)
			sul_buf_adds(out, ", ");
		sul_buf_adds(out, name);
		if (names_only) {
			/* Which side lacks it tells more than "changed" would. */
			if (!sqlite3_column_int(q, 1))
				sul_buf_adds(out, " (added)");
			else if (!sqlite3_column_int(q, 2))
				sul_buf_adds(out, " (removed)");
			continue;
		}
		if (!sqlite3_column_int(q, 1))
			sul_buf_addf(out, " added (%s)", sul_db_text(q, 4));
		else if (!sqlite3_column_int(q, 2))
			sul_buf_adds(out, " removed");
		else
			sul_buf_addf(out, " %s -> %s", sul_db_text(q, 3), sul_db_text(q, 4));
	}
	sqlite3_reset(q);
	return r < 0 ? -1 : n;
}
