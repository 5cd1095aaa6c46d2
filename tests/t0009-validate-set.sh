#!/bin/sh
# t0009-validate-set: --set, --force and --only are checked like the file:
# an unknown stage or workflow parameter (with "did you mean"), a malformed
# argument, a value of the wrong type: exit status 2 and nothing created.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "set";
params = { epochs = 3; lr = 0.5; };
stages = (
  { id = "train"; kind = "command"; params = { x = 1; }; command = "echo {params.x} {params.epochs} > {out}/v"; }
);
EOF

run_fail_msg 2 "--set 'trian.x=2': no stage 'trian' (did you mean 'train'?)" "$SULCUS" run --set trian.x=2 wf.cfg
assert_no_workspace
run_fail_msg 2 "--set 'params.epoch=2': the workflow has no parameter 'epoch' (did you mean 'epochs'?)" \
	"$SULCUS" run --set params.epoch=2 wf.cfg
assert_no_workspace
run_fail_msg 2 "--set 'params.zzz=2': the workflow has no parameter 'zzz'" "$SULCUS" run --set params.zzz=2 wf.cfg
assert_file_lacks "$ERR" "did you mean"
assert_no_workspace

# Malformed: no '=', no '.', nothing before the dot, no name after it.
for arg in train.x train=2 .x=2 train.=2; do
	run_fail_msg 2 "--set '$arg': expected ID.NAME=VALUE" "$SULCUS" run --set "$arg" wf.cfg
	assert_no_workspace
done

# The type of an overridden value follows the value it replaces.
run_fail_msg 2 "--set 'params.epochs=many'" "$SULCUS" run --set params.epochs=many wf.cfg
assert_file_contains "$ERR" "expected an integer"
assert_no_workspace
run_fail_msg 2 "--set 'train.x=1.5'" "$SULCUS" plan --set train.x=1.5 wf.cfg
assert_no_workspace

run_fail_msg 2 "--force 'trian': no stage" "$SULCUS" run --force trian wf.cfg
assert_no_workspace
run_fail_msg 2 "--only 'zz*': no stage" "$SULCUS" run --only 'zz*' wf.cfg
assert_no_workspace
run_fail_msg 2 "unknown option '--frobnicate'" "$SULCUS" run --frobnicate wf.cfg
assert_no_workspace
run_fail_msg 2 "-j: expected a number of jobs from 1 to 1024, got '0'" "$SULCUS" run -j 0 wf.cfg
assert_no_workspace

# A good --set passes check and reaches the command.
run_ok "$SULCUS" check --set train.x=7 --set params.epochs=9 wf.cfg
run_ok "$SULCUS" run -q --set train.x=7 --set params.epochs=9 wf.cfg
assert_eq "7 9" "$(cat .sulcus/cache/*/out/v)" "output with --set"

# Numbers are decimal as written: 010 is ten, and 0x10, +5 or " 5" are not
# integers; a parameter name is a name, not a glob.
run_ok "$SULCUS" run -q --set train.x=010 --set params.epochs=9 wf.cfg
assert_eq "10 9" "$(cat .sulcus/cache/"$(sql_value "SELECT cache_key FROM latest_executions WHERE stage='train'")"/out/v)" \
	"output with --set train.x=010"
for v in 0x10 +5 " 5" 1e3 inf; do
	run_fail_msg 2 "--set 'train.x=$v'" "$SULCUS" check --set "train.x=$v" wf.cfg
	assert_file_contains "$ERR" "expected an integer"
done
run_fail_msg 2 "--set 'params.lr=0x1p3'" "$SULCUS" check --set params.lr=0x1p3 wf.cfg
run_fail_msg 2 "--set 'params.lr=nan'" "$SULCUS" check --set params.lr=nan wf.cfg
run_ok "$SULCUS" check --set params.lr=-.5 --set params.lr=2.5e-3 wf.cfg
run_fail_msg 2 "--set 'train.*=5': parameter name '*': expected letters, digits, '_' and '-'" \
	"$SULCUS" check --set 'train.*=5' wf.cfg
run_fail_msg 2 "--set 't*.x y=5': parameter name 'x y'" "$SULCUS" check --set 't*.x y=5' wf.cfg
