#!/bin/sh
# t5002-slurm-failure: a stage that fails on the node fails only its
# descendants; its log tail is reported; a rerun after the fix runs only
# what is not cached.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# waits: yes

start_slurm

cat >wf.cfg <<'CFG'
name = "slurm-failure";
stages = (
  { id = "x"; kind = "command"; params = { code = 3; };
    command = "echo boom-on-the-node; exit {params.code}"; },
  { id = "x2"; kind = "command"; inputs = ["x"]; command = "echo y > {out}/y"; },
  { id = "y"; kind = "command"; command = "echo y > {out}/y"; }
);
CFG

run_fail_msg 1 "command exited with status 3" "$SULCUS" run --executor slurm -k wf.cfg
assert_file_contains "$ERR" "boom-on-the-node"
assert_status x failed
assert_status x2 skipped
assert_ran y
sql_ok "SELECT j.state, j.exit_code FROM jobs j JOIN executions e ON e.id = j.execution_id WHERE e.stage = 'x'"
assert_eq "FAILED,1" "$ROWS" "job of the failed stage"
assert_contains "$(stage_reason x)" "boom-on-the-node" "recorded reason"

before=$(slurm_jobs_submitted)
run_ok "$SULCUS" run --executor slurm --set x.code=0 wf.cfg
assert_ran x
assert_ran x2
assert_cached y
assert_eq $((before + 2)) "$(slurm_jobs_submitted)" "jobs submitted by the rerun"
exit 0
