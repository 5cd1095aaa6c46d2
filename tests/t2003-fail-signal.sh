#!/bin/sh
# t2003-fail-signal: however a stage dies it ends as failed with a clear
# reason: its command killed by a signal, exiting non-zero without any
# output, or the stage process itself killed before reporting a result.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "signals";
stages = (
  { id = "segv"; kind = "command"; command = "echo partial > {out}/v; kill -SEGV $$"; },
  { id = "quiet"; kind = "command"; command = "exit 4"; },
  { id = "stage_killed"; kind = "command"; command = "echo partial > {out}/v; kill -KILL $PPID; sleep 5"; },
  { id = "group_termed"; kind = "command"; command = "kill -TERM 0; sleep 5"; },
  { id = "fine"; kind = "command"; command = "echo fine > {out}/v"; }
);
EOF
run_fail_msg 1 "sulcus: run 1: 4 failed, 0 skipped" "$SULCUS" run --keep-going wf.cfg
for id in segv quiet stage_killed group_termed; do
	assert_status $id failed
done
assert_ran fine

reason=$(stage_reason segv) || fail "query"
assert_contains "$reason" "command killed by signal 11" "reason of segv"
reason=$(stage_reason quiet) || fail "query"
assert_contains "$reason" "command exited with status 4" "reason of quiet"
reason=$(stage_reason stage_killed) || fail "query"
assert_contains "$reason" "killed by signal 9 (SIGKILL) before reporting a result" "reason of stage_killed"
reason=$(stage_reason group_termed) || fail "query"
assert_contains "$reason" "killed by signal 15 (SIGTERM) before reporting a result" "reason of group_termed"
assert_file_contains "$ERR" "FAILED   stage_killed  killed by signal 9 (SIGKILL) before reporting a result"

sql_ok "SELECT exit_code FROM executions WHERE run_id=1 AND stage='stage_killed'"
assert_eq 137 "$ROWS" "exit_code of stage_killed"

# Only the good stage was published.
assert_eq 1 "$(cache_entries)" "cache entries"
