#!/bin/sh
# t2001-fail-keep-going: a failing stage fails only its descendants: with
# --keep-going the independent branch still runs.  `sulcus run` exits 1,
# prints the failure and the log's tail, records the reason, and publishes
# nothing for the failed stage.  After the fix, a rerun runs the failed
# stage and its descendants and finds the rest cached.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

write_wf() {
	cat >wf.cfg <<EOF
name = "fail";
stages = (
  { id = "bad"; kind = "command"; command = "echo x >> count.bad; $1"; },
  { id = "bad_child"; kind = "command"; inputs = ["bad"]; command = "echo x >> count.bad_child; cat {in.bad}/v > {out}/v"; },
  { id = "good"; kind = "command"; command = "echo x >> count.good; echo ok > {out}/v"; },
  { id = "good_child"; kind = "command"; inputs = ["good"]; command = "echo x >> count.good_child; cat {in.good}/v > {out}/v"; }
);
EOF
}

write_wf 'echo partial > {out}/v; echo some-output; echo oops-msg >&2; exit 3'
run_fail_msg 1 "command exited with status 3" "$SULCUS" run --keep-going wf.cfg
assert_file_contains "$ERR" "FAILED   bad"
assert_file_contains "$ERR" "oops-msg"
assert_file_contains "$ERR" "some-output"
assert_file_contains "$ERR" "log: $TEST_DIR/.sulcus/logs/1/bad.log"
assert_file_contains "$ERR" "run 1: 2 ran, 0 cached, 1 failed, 1 skipped"
assert_file_contains "$ERR" "sulcus: run 1: 1 failed, 1 skipped"
assert_status bad failed
assert_status bad_child skipped
assert_ran good
assert_ran good_child
assert_count count.bad_child 0
sql_ok "SELECT status FROM runs WHERE id=1"
assert_eq failed "$ROWS" "status of run 1"
reason=$(stage_reason bad_child) || fail "query"
assert_eq "input 'bad' failed" "$reason" "reason of bad_child"
reason=$(stage_reason bad) || fail "query"
assert_contains "$reason" "command exited with status 3" "recorded reason of bad"
assert_contains "$reason" "oops-msg" "recorded reason of bad (log tail)"
assert_file_contains .sulcus/logs/1/bad.log "oops-msg"

# Nothing of the failed stage looks complete: only the two good entries
# were published, each with its manifest, and no staging folder is left.
assert_eq 2 "$(cache_entries)" "cache entries"
key=$(sql_value "SELECT cache_key FROM executions WHERE run_id=1 AND stage='bad'") || fail "query"
[ -n "$key" ] || fail "the failed stage has no recorded key"
[ ! -e ".sulcus/cache/$key" ] || fail "the failed stage's output was published"
for entry in .sulcus/cache/*; do
	[ -f "$entry/manifest" ] || fail "cache entry without a manifest: $entry"
done
assert_eq "" "$(ls .sulcus/tmp)" "leftovers in .sulcus/tmp"
sql_ok "SELECT count(*) FROM outputs WHERE cache_key='$key'"
assert_eq 0 "$ROWS" "outputs rows of the failed stage"

# Fixed: the failed stage and its descendant run, the rest is cached.
write_wf 'echo fixed > {out}/v'
run_ok "$SULCUS" run wf.cfg
assert_ran bad
assert_ran bad_child
assert_cached good
assert_cached good_child
assert_count count.good 1
assert_count count.bad_child 1
key=$(sql_value "SELECT cache_key FROM executions WHERE run_id=2 AND stage='bad_child'") || fail "query"
assert_eq fixed "$(cat ".sulcus/cache/$key/out/v")" "bad_child's output"
