/* fsutil.c - file system helpers (see fsutil.h). */
#include "fsutil.h"
#include "fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder itself first: in the engine's common case its parents exist,
 * and one mkdir() is all it takes; the parents are made only on ENOENT. */
int sul_mkdirs(const char *path, struct sul_err *err)
{
	char *parent;
	int ret;

	if (!sul_fault_fail("mkdir") && (!mkdir(path, 0777) || errno == EEXIST))
		return 0;
	if (errno != ENOENT || !strcmp(path, "/") || !*path)
		return sul_err_sys(err, "cannot create folder '%s'", path);
	parent = sul_path_dirname(path);
	ret = strcmp(parent, path) ? sul_mkdirs(parent, err) : 0;
	free(parent);
	if (ret)
		return -1;
	if ((sul_fault_fail("mkdir") || mkdir(path, 0777)) && errno != EEXIST)
		return sul_err_sys(err, "cannot create folder '%s'", path);
	return 0;
}

static int rmtree_at(int dirfd, const char *name, const char *shown, struct sul_err *err)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (!unlinkat(dirfd, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return sul_err_sys(err, "cannot remove '%s'", shown);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sul_err_sys(err, "cannot remove '%s'", shown);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sul_err_sys(err, "cannot remove '%s'", shown);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rmtree_at(fd, de->d_name, shown, err)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) && errno != ENOENT)
		return sul_err_sys(err, "cannot remove '%s'", shown);
	return 0;
}

int sul_rmtree(const char *path, struct sul_err *err)
{
	return rmtree_at(AT_FDCWD, path, path, err);
}

int sul_read_file(const char *path, struct sul_buf *b, struct sul_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sul_err_sys(err, "cannot read '%s'", path);
	for (;;) {
		ssize_t n;
		sul_buf_grow(b, 8192);
		n = read(fd, b->buf + b->len, b->alloc - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sul_err_sys(err, "cannot read '%s'", path);
			close(fd);
			return -1;
		}
		if (!n)
			break;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = sul_fault_fail("write") ? -1 : write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int sul_write_file(const char *path, const void *data, size_t len, struct sul_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

	if (fd < 0)
		return sul_err_sys(err, "cannot write '%s'", path);
	if (write_all(fd, data, len)) {
		sul_err_sys(err, "cannot write '%s'", path);
		close(fd);
		return -1;
	}
	if (close(fd))
		return sul_err_sys(err, "cannot write '%s'", path);
	return 0;
}

int sul_write_file_atomic(const char *path, const void *data, size_t len, struct sul_err *err)
{
	char *tmp = sul_xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		sul_err_sys(err, "cannot write '%s'", tmp);
		goto out;
	}
	if (write_all(fd, data, len) || sul_fault_fail("fsync") || fsync(fd)) {
		sul_err_sys(err, "cannot write '%s'", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd)) {
		sul_err_sys(err, "cannot write '%s'", tmp);
		unlink(tmp);
		goto out;
	}
	if (sul_fault_fail("rename") || rename(tmp, path)) {
		sul_err_sys(err, "cannot rename '%s' to '%s'", tmp, path);
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

int sul_fsync_path(const char *path, struct sul_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sul_err_sys(err, "cannot open '%s'", path);
	if ((sul_fault_fail("fsync") || fsync(fd)) && errno != EINVAL) {
		sul_err_sys(err, "cannot fsync '%s'", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int sul_fsync_tree(const char *root, struct sul_err *err)
{
	struct dirent *de;
	DIR *d = opendir(root);

	if (!d)
		return sul_err_sys(err, "cannot read folder '%s'", root);
	while ((de = readdir(d))) {
		char *child;
		struct stat st;
		int r = 0;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = sul_xasprintf("%s/%s", root, de->d_name);
		if (lstat(child, &st))
			r = sul_err_sys(err, "cannot stat '%s'", child);
		else if (S_ISDIR(st.st_mode))
			r = sul_fsync_tree(child, err);
		else if (S_ISREG(st.st_mode))
			r = sul_fsync_path(child, err);
		free(child);
		if (r) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return sul_fsync_path(root, err);
}

int sul_syncfs_path(const char *path, struct sul_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sul_err_sys(err, "cannot open '%s'", path);
	if (sul_fault_fail("fsync") || syncfs(fd)) {
		sul_err_sys(err, "cannot flush the file system of '%s' to disk", path);
		close(fd);
		return -1;
	}
	if (close(fd))
		return sul_err_sys(err, "cannot close '%s'", path);
	return 0;
}

char *sul_path_resolve(const char *base, const char *path)
{
	char cwd[4096];

	if (path[0] == '/')
		return sul_xstrdup(path);
	if (base && base[0] == '/')
		return sul_xasprintf("%s/%s", base, path);
	if (!getcwd(cwd, sizeof(cwd)))
		return sul_xstrdup(path);
	if (!strcmp(path, ".") && (!base || !strcmp(base, ".")))
		return sul_xstrdup(cwd);
	if (base && strcmp(base, "."))
		return sul_xasprintf("%s/%s/%s", cwd, base, path);
	return sul_xasprintf("%s/%s", cwd, path);
}

char *sul_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return sul_xstrdup(".");
	if (slash == path)
		return sul_xstrdup("/");
	return sul_xstrndup(path, (size_t)(slash - path));
}

int sul_path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int sul_copy_file(const char *src, const char *dst, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *dir = sul_path_dirname(dst);
	int ret = -1;

	if (!sul_mkdirs(dir, err) && !sul_read_file(src, &b, err))
		ret = sul_write_file_atomic(dst, b.buf, b.len, err);
	sul_buf_release(&b);
	free(dir);
	return ret;
}
