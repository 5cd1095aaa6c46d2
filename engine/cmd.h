/*
 * cmd.h - the subcommands of `sulcus`.  Each takes main's argc/argv (argv[0]
 * is the subcommand's name), prints its own output, and returns the exit
 * status; errors come back in err for main to print once.
 */
#ifndef SUL_CMD_H
#define SUL_CMD_H

#include "err.h"

int cmd_run(int argc, char **argv, struct sul_err *err);
int cmd_plan(int argc, char **argv, struct sul_err *err);
int cmd_check(int argc, char **argv, struct sul_err *err);
int cmd_dag(int argc, char **argv, struct sul_err *err);
int cmd_kinds(int argc, char **argv, struct sul_err *err);
int cmd_query(int argc, char **argv, struct sul_err *err);
int cmd_runs(int argc, char **argv, struct sul_err *err);
int cmd_show(int argc, char **argv, struct sul_err *err);
int cmd_diff(int argc, char **argv, struct sul_err *err);
int cmd_gc(int argc, char **argv, struct sul_err *err);
int cmd_report(int argc, char **argv, struct sul_err *err);
int cmd_stage_exec(int argc, char **argv, struct sul_err *err);

#endif
