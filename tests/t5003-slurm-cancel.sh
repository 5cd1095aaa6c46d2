#!/bin/sh
# t5003-slurm-cancel: a job cancelled behind sulcus's back fails its stage
# with the cause; SIGTERM to `sulcus run` cancels its jobs and leaves nothing
# that looks complete; reruns run the stage again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# waits: yes

start_slurm

cat >wf.cfg <<'CFG'
name = "slurm-cancel";
stages = (
  { id = "w"; kind = "command";
    command = "touch started; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo done > {out}/w"; },
  { id = "after"; kind = "command"; inputs = ["w"]; command = "cat {in.w}/w > {out}/a"; }
);
CFG

live_jobs() { squeue -h -t PENDING,RUNNING,COMPLETING -o %i | grep -c . || true; }

# 1. scancel from outside.
start_bg run1 "$SULCUS" run --executor slurm wf.cfg
wait_for_file started 30
jid=$(squeue -h -o %i | head -n 1)
[ -n "$jid" ] || fail "no job in the queue"
scancel "$jid"
wait_bg run1 60
assert_eq 1 "$BG_RC" "exit status after an external scancel"
assert_status w failed
assert_status after skipped
assert_contains "$(stage_reason w)" "slurm job $jid was cancelled" "reason"
[ "$(cache_entries)" = 0 ] || fail "a cancelled stage published an entry"

# 2. SIGTERM to sulcus: its jobs are cancelled, the run is 'interrupted'.
rm -f started
start_bg run2 "$SULCUS" run --executor slurm wf.cfg
wait_for_file started 30
kill -TERM "$BG_PID"
wait_bg run2 60
assert_eq 143 "$BG_RC" "exit status after SIGTERM"
assert_eq interrupted "$(sql_value "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" "run status"
assert_status w failed
n=0
while [ "$(live_jobs)" != 0 ]; do
	[ $n -lt 100 ] || fail "jobs still in the queue after SIGTERM: $(squeue -h)"
	n=$((n + 1))
	sleep 0.1
done
[ "$(cache_entries)" = 0 ] || fail "an interrupted stage published an entry"

# 3. A clean rerun.
touch go
run_ok "$SULCUS" run --executor slurm wf.cfg
assert_ran w
assert_ran after
exit 0
