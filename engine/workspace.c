/* workspace.c - the .sulcus folder, its lock and crash recovery (see workspace.h). */
#include "workspace.h"
#include "clock.h"
#include "fsutil.h"
#include "strbuf.h"
#include "tables.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int take_lock(struct sul_workspace *ws, struct sul_err *err)
{
	char *path = sul_xasprintf("%s/lock", ws->root);
	char pid[32];
	int fd, ret = -1;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		sul_err_sys(err, "cannot open '%s'", path);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = errno == EWOULDBLOCK ? pread(fd, pid, sizeof(pid) - 1, 0) : -1;
		if (n >= 0) {
			pid[n] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			sul_err_set(err, SUL_ERR_FAIL,
				    "workspace '%s' is in use by another sulcus run (pid %s): wait for it to "
				    "finish, or use another --workdir",
				    ws->root, *pid ? pid : "unknown");
		} else {
			sul_err_sys(err, "cannot lock '%s'", path);
		}
		close(fd);
		goto out;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, strlen(pid), 0) < 0) {
		sul_err_sys(err, "cannot write '%s'", path);
		close(fd);
		goto out;
	}
	ws->lock_fd = fd;
	ret = 0;
out:
	free(path);
	return ret;
}

/* We hold the lock, so anything marked running belongs to a dead engine. */
static int recover(struct sul_workspace *ws, struct sul_err *err)
{
	char now[64];

	sul_now_iso(now);
	if (sul_db_begin(ws->db, err))
		return -1;
	if (sul_db_exec(ws->db, err,
			"UPDATE executions SET status = 'failed', finished_at = ?1, "
			"reason = 'interrupted: the run was killed' WHERE status = 'running'", "t", now)
	    || sul_db_exec(ws->db, err,
			   "UPDATE runs SET status = 'killed', finished_at = ?1 WHERE status = 'running'",
			   "t", now)
	    || sul_db_commit(ws->db, err)) {
		sul_db_rollback(ws->db);
		return -1;
	}
	/* Staging folders of dead runs: never complete, safe to drop. */
	if (sul_rmtree(ws->tmp_dir, err) || sul_mkdirs(ws->tmp_dir, err))
		return -1;
	return 0;
}

int sul_workspace_in_use(const struct sul_workspace *ws)
{
	char *path = sul_xasprintf("%s/lock", ws->root);
	char line[256], want[64];
	struct stat st;
	FILE *f;
	int held = 0;

	if (ws->lock_fd >= 0) {
		free(path);
		return 1;
	}
	if (stat(path, &st)) {
		free(path);
		return 0;
	}
	free(path);
	f = fopen("/proc/locks", "re");
	if (!f)
		return 1;  /* cannot tell: assume the worst */
	/* "1: FLOCK  ADVISORY  WRITE 1814 fe:00:10954231 0 EOF": major:minor in hex. */
	snprintf(want, sizeof(want), " %02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	while (!held && fgets(line, sizeof(line), f))
		held = strstr(line, " FLOCK ") && strstr(line, want);
	fclose(f);
	return held;
}

int sul_workspace_open(const char *dir, int flags, struct sul_workspace *ws, struct sul_err *err)
{
	const struct sul_kind *const *kinds;
	size_t nkinds;

	memset(ws, 0, sizeof(*ws));
	ws->lock_fd = -1;
	ws->root = sul_path_resolve(NULL, dir ? dir : ".sulcus");
	ws->cache_dir = sul_xasprintf("%s/cache", ws->root);
	ws->tmp_dir = sul_xasprintf("%s/tmp", ws->root);
	ws->logs_dir = sul_xasprintf("%s/logs", ws->root);
	ws->db_path = sul_xasprintf("%s/sulcus.db", ws->root);

	if (!(flags & SUL_WS_WRITE)) {
		if (sul_path_exists(ws->db_path)
		    && sul_db_open(ws->db_path, SUL_DB_READONLY, &ws->db, err))
			goto fail;
		return 0;
	}
	if (sul_mkdirs(ws->cache_dir, err) || sul_mkdirs(ws->logs_dir, err) || take_lock(ws, err))
		goto fail;
	kinds = sul_kinds(&nkinds);
	if (sul_db_open(ws->db_path, 0, &ws->db, err) || recover(ws, err)
	    || sul_tables_sync(ws->db, ws->cache_dir, kinds, nkinds, err))
		goto fail;
	return 0;
fail:
	sul_workspace_close(ws);
	return -1;
}

void sul_workspace_close(struct sul_workspace *ws)
{
	sul_db_close(ws->db);
	if (ws->lock_fd >= 0)
		close(ws->lock_fd);
	free(ws->root);
	free(ws->cache_dir);
	free(ws->tmp_dir);
	free(ws->logs_dir);
	free(ws->db_path);
	memset(ws, 0, sizeof(*ws));
	ws->lock_fd = -1;
}
