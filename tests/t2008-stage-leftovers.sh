#!/bin/sh
# t2008-stage-leftovers: a stage runs in its own process group, and what it
# leaves running in the background is ended with it, whether it succeeded
# or failed; stdin is /dev/null.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "leftovers";
stages = (
  { id = "ok"; kind = "command"; command = "sleep 60 & echo $! > pid.ok; cat > {out}/stdin; echo done > {out}/v"; },
  { id = "bad"; kind = "command"; command = "sleep 60 & echo $! > pid.bad; exit 1"; },
  { id = "group"; kind = "command"; command = "ps -o pgid= -p $$ | tr -d ' ' > pgid.group; echo $$ > pid.group; echo $PPID > ppid.group"; }
);
EOF
echo "not for stages" >../stdin.txt
run_fail_msg 1 "1 failed" "$SULCUS" run --keep-going wf.cfg <../stdin.txt
assert_ran ok
assert_status bad failed
wait_for_death "$(cat pid.ok)" 5
wait_for_death "$(cat pid.bad)" 5

key=$(sql_value "SELECT cache_key FROM executions WHERE stage='ok'") || fail "query"
assert_eq 0 "$(wc -c <".sulcus/cache/$key/out/stdin" | tr -d ' ')" "bytes the stage read from stdin"

# The group's leader is the stage process (the command's parent), not the engine.
if command -v ps >/dev/null 2>&1; then
	assert_eq "$(cat ppid.group)" "$(cat pgid.group)" "process group of the stage"
fi
