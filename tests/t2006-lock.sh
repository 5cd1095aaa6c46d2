#!/bin/sh
# t2006-lock: a second `sulcus run` on a workspace in use fails fast with a
# clear message (exit status 3: an error of sulcus, not of a stage) and
# changes nothing; the first run then finishes normally
# and the database is intact.  A stage's process (a fork of the engine) holds
# neither the lock nor the database open: killed with its engine, it would
# otherwise keep the workspace locked.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "lock";
stages = (
  { id = "block"; kind = "command";
    command = "ls -l /proc/$PPID/fd > fds; touch started; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done; test -e go || exit 1; echo b > {out}/v"; },
  { id = "after"; kind = "command"; inputs = ["block"]; command = "cat {in.block}/v > {out}/v"; }
);
EOF
start_bg first "$SULCUS" run wf.cfg
first=$BG_PID
wait_for_file started

run_fail_msg 3 "in use by another sulcus run (pid $first)" "$SULCUS" run wf.cfg
run_fail_msg 3 "in use by another sulcus run" "$SULCUS" gc
# Readers are not locked out.
run_ok "$SULCUS" runs
run_ok "$SULCUS" plan wf.cfg

# $PPID of the command's shell is the stage's process.
[ -s fds ] || fail "the stage did not list its process's descriptors"
if grep -E '\.sulcus/(lock|sulcus\.db)' fds; then
	fail "the stage's process holds the workspace lock or the database open"
fi

touch go
wait_bg first
assert_eq 0 "$BG_RC" "exit status of the first run; output: $(bg_output first)"
assert_ran block
assert_ran after
sql_ok "SELECT count(*) || ' ' || max(status) FROM runs"
assert_eq "1 succeeded" "$ROWS" "runs after the refused second run"
sql_ok "PRAGMA integrity_check"
assert_eq ok "$ROWS" "integrity check"
run_ok "$SULCUS" runs
assert_file_contains "$OUT" "succeeded"

# The lock goes with the run.
run_ok "$SULCUS" run wf.cfg
assert_cached block
