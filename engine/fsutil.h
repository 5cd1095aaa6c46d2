/*
 * fsutil.h - file system helpers: create, remove, read, write atomically,
 * fsync.  Every path in a message is the one the caller passed.
 */
#ifndef SUL_FSUTIL_H
#define SUL_FSUTIL_H

#include <stddef.h>

#include "err.h"
#include "strbuf.h"

/* mkdir -p; existing folders are fine. */
int sul_mkdirs(const char *path, struct sul_err *err);
/* rm -rf; a missing path is fine. */
int sul_rmtree(const char *path, struct sul_err *err);
/* Reads a whole file into b (appending). */
int sul_read_file(const char *path, struct sul_buf *b, struct sul_err *err);
/* Writes data to path.tmp.PID, fsyncs it and renames it onto path: readers
 * see the old content or the new one, never a part. */
int sul_write_file_atomic(const char *path, const void *data, size_t len, struct sul_err *err);
/* Creates or truncates path and writes data, without fsync or rename: for a
 * file nobody reads until its writer has ended (a file inside a staging
 * folder, which publishing makes durable; a stage's result), whose loss in a crash
 * costs nothing but a rerun. */
int sul_write_file(const char *path, const void *data, size_t len, struct sul_err *err);
/* Copies the file src to dst (created, or replaced atomically), making dst's folder. */
int sul_copy_file(const char *src, const char *dst, struct sul_err *err);
/* fsyncs a file or folder (a folder after a rename into it). */
int sul_fsync_path(const char *path, struct sul_err *err);
/* fsyncs every file and folder under root. */
int sul_fsync_tree(const char *root, struct sul_err *err);
/* Makes everything written on the file system that holds path durable
 * (syncfs(2), which reports write-back errors since Linux 5.8): one call
 * for a whole tree of new files, however many, where fsync takes one per
 * file and folder; but it also waits for other programs' unwritten data. */
int sul_syncfs_path(const char *path, struct sul_err *err);
/* An absolute version of path, resolved against base when relative
 * (base may be NULL: the current directory).  Not canonicalized. */
char *sul_path_resolve(const char *base, const char *path);
/* The folder part of path ("." when none).  Caller frees. */
char *sul_path_dirname(const char *path);
int sul_path_exists(const char *path);

#endif
