#!/bin/sh
# t5004-slurm-timeout: a job killed at its time limit is reported as such.
# Slurm enforces limits in whole minutes and late (about 80 s for 1 minute):
# this is the suite's one slow test (the runner gives it 300 s).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# waits: yes
# timeout: 300

start_slurm

cat >wf.cfg <<'CFG'
name = "slurm-timeout";
stages = (
  { id = "slow"; kind = "command"; resources = { time = 1; }; command = "sleep 300"; }
);
CFG

run_fail_msg 1 "was killed at its time limit (1)" "$SULCUS" run --executor slurm wf.cfg
assert_status slow failed
assert_eq TIMEOUT "$(sql_value "SELECT state FROM jobs")" "job state"
exit 0
