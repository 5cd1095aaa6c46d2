/*
 * workspace.h - the `.sulcus/` folder: cache, temporary folders, logs, the
 * database and the lock.
 *
 *   .sulcus/lock        flock()ed by the one `sulcus run` (or gc) at a time
 *   .sulcus/sulcus.db   provenance and results (db/schema.sql)
 *   .sulcus/cache/KEY/  published stage outputs (cache.h)
 *   .sulcus/tmp/        staging folders and job files of running stages
 *   .sulcus/logs/RUN/   one log per stage per run
 *
 * Opening for writing takes the lock (failing with a clear message when
 * another run holds it), and repairs what a killed run left: runs still
 * marked running become 'killed', their running stages 'failed', and the
 * staging area is emptied.  Opening for reading takes no lock and creates
 * nothing.
 */
#ifndef SUL_WORKSPACE_H
#define SUL_WORKSPACE_H

#include "db.h"
#include "err.h"

struct sul_workspace {
	char *root;       /* absolute .sulcus folder */
	char *cache_dir;
	char *tmp_dir;
	char *logs_dir;
	char *db_path;
	int lock_fd;      /* -1 when not locked */
	struct sul_db *db;  /* NULL when reading a workspace that has no database */
};

#define SUL_WS_WRITE 1

/* dir: the .sulcus folder (NULL: ./.sulcus). */
int sul_workspace_open(const char *dir, int flags, struct sul_workspace *ws, struct sul_err *err);
void sul_workspace_close(struct sul_workspace *ws);

/* 1 when a process holds the workspace's lock (a run is in progress), 0
 * when none does, from /proc/locks: asking flock() itself could make a
 * starting run find the lock taken. */
int sul_workspace_in_use(const struct sul_workspace *ws);

#endif
