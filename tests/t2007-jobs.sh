#!/bin/sh
# t2007-jobs: -j 2 runs two independent stages at the same time: each
# waits for the other's marker (at most 10 s) and fails without it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "jobs";
stages = (
  { id = "left"; kind = "command";
    command = "touch left.started; i=0; while [ ! -e right.started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; test -e right.started || exit 1; echo l > {out}/v"; },
  { id = "right"; kind = "command";
    command = "touch right.started; i=0; while [ ! -e left.started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; test -e left.started || exit 1; echo r > {out}/v"; },
  { id = "join"; kind = "command"; inputs = ["left", "right"]; command = "cat {in.left}/v {in.right}/v > {out}/v"; }
);
EOF
run_ok "$SULCUS" run -j 2 wf.cfg
assert_ran left
assert_ran right
assert_ran join
# Each started before the other finished.
sql_ok "SELECT count(*) FROM executions a JOIN executions b ON a.run_id = b.run_id
        WHERE a.stage='left' AND b.stage='right' AND a.started_at <= b.finished_at AND b.started_at <= a.finished_at"
assert_eq 1 "$ROWS" "left and right overlapping in time"
