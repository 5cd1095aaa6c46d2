/*
 * fault.h - fault injection for tests: crash points and failing calls.
 *
 * The engine marks the steps where a kill must leave nothing inconsistent
 * (between a stage's publish and its database record, between the renames
 * of a replaced cache entry, ...) with sul_fault_crash("name"), and asks
 * sul_fault_fail("call") before each write, fsync, rename, mkdir and SQLite
 * step.  In ./sulcus both do nothing.  build/sulcus-faults, which `make
 * test` links with engine/fault.c compiled with -DSUL_FAULTS, obeys:
 *
 *   SULCUS_CRASH_AT=name[:N[:S]] SIGKILL (or S: SEGV, ABRT) at the Nth
 *                               time a process reaches crash point name
 *                               (default the first)
 *   SULCUS_FAIL_AT=call:N[:E]   the Nth call of kind call (write, fsync,
 *                               rename, mkdir, sqlite) in a process fails
 *                               with errno E (ENOSPC, the default, or EIO);
 *                               statvfs: the engine's look at free space
 *                               after a failed stage finds none
 *   SULCUS_FAULT_TRACE=file     append "crash name" / "call kind" lines
 *                               for every point and call reached, so that a
 *                               test can enumerate them and walk each
 *
 * Counts are per process: the engine and each stage process count apart
 * (a stage process forked from the engine starts again from zero).
 */
#ifndef SUL_FAULT_H
#define SUL_FAULT_H

/* Kills the process here when SULCUS_CRASH_AT names this point. */
void sul_fault_crash(const char *point);

/* 0, or the errno that this call must fail with (errno is set to it too). */
int sul_fault_fail(const char *call);

/* In a child forked from a process that counted: start counting afresh. */
void sul_fault_forked(void);

#endif
