#!/bin/sh
# t1003-plan-reasons: `sulcus plan` says what would run and why: new
# stage, params changed (old -> new), input will rerun, forced, file
# changed, command changed, an input removed; it compares with the stage's
# last run in the same workflow only; and it runs nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

write_wf() {
	cat >wf.cfg <<EOF
name = "plan";
stages = (
  { id = "a"; kind = "command"; params = { x = $1; }; command = "echo x >> count.a; echo {params.x} > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "$2 {in.a}/v > {out}/v"; },
  { id = "f"; kind = "command"; files = ["data.txt"]; command = "cat data.txt > {out}/v"; },
  { id = "s"; kind = "command"; command = "echo s > {out}/v"; }
);
EOF
}
# plan_line ID: the line of the last plan output about stage ID.
plan_line() {
	awk -v id="$1" '$2 == id' "$OUT"
}
# assert_plan ID STATE [REASON]
assert_plan() {
	_line=$(plan_line "$1")
	_want="$2 $1${3:+ $3}"
	_got=$(printf '%s\n' "$_line" | tr -s ' ')
	assert_eq "$_want" "$_got" "plan line of $1"
}

echo hello >data.txt
write_wf 1 cat
run_ok "$SULCUS" plan wf.cfg
assert_plan a run "new stage"
assert_plan b run "input will rerun: a"
assert_plan f run "new stage"
assert_plan s run "new stage"
assert_file_contains "$OUT" "plan: 4 to run, 0 cached (4 stages)"
assert_no_workspace
[ ! -e count.a ] || fail "plan ran a command"

run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" plan wf.cfg
for id in a b f s; do
	assert_plan $id cached
done
assert_file_contains "$OUT" "plan: 0 to run, 4 cached (4 stages)"

write_wf 2 cat
run_ok "$SULCUS" plan wf.cfg
assert_plan a run "params changed: x 1 -> 2"
assert_plan b run "input will rerun: a"
assert_plan f cached
assert_file_contains "$OUT" "plan: 2 to run, 2 cached (4 stages)"

write_wf 1 cat
run_ok "$SULCUS" plan --force s wf.cfg
assert_plan s run forced
assert_plan a cached

echo changed >data.txt
run_ok "$SULCUS" plan wf.cfg
assert_plan f run "file changed: data.txt"
assert_plan a cached

write_wf 1 "cat -u"
run_ok "$SULCUS" plan wf.cfg
assert_plan b run "command changed"

# Several reasons at once.
write_wf 3 "cat -u"
run_ok "$SULCUS" plan wf.cfg
assert_plan b run "input will rerun: a"
assert_plan a run "params changed: x 1 -> 3"

# --only restricts the plan to a stage and its ancestors.
run_ok "$SULCUS" plan --only b wf.cfg
assert_eq "" "$(plan_line f)" "plan --only b mentions f"
assert_file_contains "$OUT" "(2 stages)"

# None of these plans ran anything or recorded a run.
assert_count count.a 1
sql_ok "SELECT count(*) FROM runs"
assert_eq 1 "$ROWS" "runs recorded"

# A stage of another workflow that shares an id is not this stage's past:
# after a run of workflow "other" with a = 7, this workflow's a still
# compares with its own last run (x 1), not with the other's.
sed 's/name = "plan";/name = "other";/; s/x = 3;/x = 7;/' wf.cfg >other.cfg
run_ok "$SULCUS" run -q other.cfg
run_ok "$SULCUS" plan wf.cfg
assert_plan a run "params changed: x 1 -> 3"

# An input that is no longer there is said to be removed, not changed.
write_wf 1 cat
sed -i 's/{ id = "s"; kind = "command"; command/{ id = "s"; kind = "command"; inputs = ["a", "f"]; command/' wf.cfg
run_ok "$SULCUS" run -q wf.cfg
sed -i 's/inputs = \["a", "f"\]; command = "echo s/inputs = ["a"]; command = "echo s/' wf.cfg
run_ok "$SULCUS" plan wf.cfg
assert_plan s run "input changed: f (removed)"
