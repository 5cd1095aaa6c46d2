#!/bin/sh
# t2002-fail-stop: without --keep-going no new stage starts after a
# failure; what did not start is recorded as skipped, with the reason.
# A failed stage reruns next time even though nothing changed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "stop";
stages = (
  { id = "bad"; kind = "command"; command = "echo x >> count.bad; test -e fixed"; },
  { id = "other"; kind = "command"; command = "echo x >> count.other; echo o > {out}/v"; }
);
EOF
run_fail_msg 1 "sulcus: run 1: 1 failed, 1 skipped" "$SULCUS" run -j 1 wf.cfg
assert_status bad failed
assert_status other skipped
assert_count count.other 0
reason=$(stage_reason other) || fail "query"
assert_contains "$reason" "not started: an earlier stage failed" "reason of other"

run_fail_msg 1 "sulcus: run 2: 1 failed, 0 skipped" "$SULCUS" run -j 1 --keep-going wf.cfg
assert_status bad failed
assert_ran other
assert_count count.bad 2

touch fixed
run_ok "$SULCUS" plan wf.cfg
assert_file_contains "$OUT" "last run failed"
run_ok "$SULCUS" run wf.cfg
assert_ran bad
assert_cached other
reason=$(stage_reason bad) || fail "query"
assert_eq "last run failed" "$reason" "reason of bad"
