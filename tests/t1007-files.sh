#!/bin/sh
# t1007-files: external files (files = [...]) are part of a stage's key:
# editing one reruns the stage; a missing one fails that stage alone.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

mkdir data
echo one >data.txt
echo 1 >data/part1
cat >wf.cfg <<'EOF'
name = "files";
stages = (
  { id = "f"; kind = "command"; files = ["data.txt"]; command = "echo x >> count.f; cat data.txt > {out}/v"; },
  { id = "dir"; kind = "command"; files = ["data"]; command = "echo x >> count.dir; cat data/* > {out}/v"; },
  { id = "other"; kind = "command"; command = "echo x >> count.other; echo o > {out}/v"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg
assert_ran f
assert_ran dir

echo two >data.txt
run_ok "$SULCUS" run wf.cfg
assert_ran f
assert_cached dir
assert_cached other
reason=$(stage_reason f) || fail "query"
assert_eq "file changed: data.txt" "$reason" "reason of f"
key=$(sql "SELECT cache_key FROM executions WHERE run_id=2 AND stage='f'") || fail "query"
assert_eq two "$(cat ".sulcus/cache/$key/out/v")" "f's output"
sql_ok "SELECT count(*) FROM executions e, json_each(e.files_json) j WHERE e.run_id=2 AND e.stage='f' AND j.key='data.txt'"
assert_eq 1 "$ROWS" "data.txt in files_json"

# A file added to a folder.
echo 2 >data/part2
run_ok "$SULCUS" run wf.cfg
assert_ran dir
assert_cached f
assert_count count.dir 2

rm data.txt
run_fail_msg 1 "data.txt" "$SULCUS" run --keep-going wf.cfg
assert_status f failed
assert_cached dir
assert_cached other
reason=$(stage_reason f) || fail "query"
assert_contains "$reason" "file 'data.txt'" "reason of f"
