#!/bin/sh
# t2004-kill-engine: SIGKILL to `sulcus run` while a stage runs.  The
# stage's process group dies with the engine; the next run marks the dead
# run 'killed', reuses the stages finished before the kill, and runs the
# interrupted one again.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# block waits (at most 30 s) for a file the test creates.
cat >wf.cfg <<'EOF'
name = "kill";
stages = (
  { id = "first"; kind = "command"; command = "echo x >> count.first; echo 1 > {out}/v"; },
  { id = "block"; kind = "command"; inputs = ["first"];
    command = "echo x >> count.block; echo $$ > pid.block; sleep 60 & echo $! > pid.child; touch started; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done; test -e go || exit 1; cat {in.first}/v > {out}/v"; },
  { id = "after"; kind = "command"; inputs = ["block"]; command = "echo x >> count.after; cat {in.block}/v > {out}/v"; }
);
EOF
start_bg engine "$SULCUS" run -j 1 wf.cfg
engine=$BG_PID
wait_for_file started
kill -KILL "$engine"
wait_bg engine
assert_eq 137 "$BG_RC" "exit status of the killed engine"

# No process of the stage survives the engine, not even a background child.
wait_for_death "$(cat pid.block)" 5
wait_for_death "$(cat pid.child)" 5

# Until a run starts, the dead run still reads as running.
sql_ok "SELECT status FROM runs WHERE id=1"
assert_eq running "$ROWS" "status of the killed run before the next run"

touch go
run_ok "$SULCUS" run wf.cfg
assert_cached first
assert_ran block
assert_ran after
assert_count count.first 1
assert_count count.block 2
assert_count count.after 1
reason=$(stage_reason block) || fail "query"
assert_eq "last run failed" "$reason" "reason of block in the rerun"

sql_ok "SELECT status FROM runs WHERE id=1"
assert_eq killed "$ROWS" "status of the killed run"
sql_ok "SELECT status || ': ' || reason FROM executions WHERE run_id=1 AND stage='block'"
assert_eq "failed: interrupted: the run was killed" "$ROWS" "block in the killed run"
sql_ok "SELECT count(*) FROM executions WHERE status='running'"
assert_eq 0 "$ROWS" "executions left running"
run_ok "$SULCUS" runs
assert_eq killed "$(awk '$1 == 1 { print $4 }' "$OUT")" "status of run 1 in 'sulcus runs'"
assert_eq succeeded "$(awk '$1 == 2 { print $4 }' "$OUT")" "status of run 2 in 'sulcus runs'"
assert_eq "" "$(ls .sulcus/tmp)" "leftovers in .sulcus/tmp"
