#!/bin/sh
# t0008-validate-placeholders: every placeholder of a command is checked
# before anything runs: {in.X} with X not an input, an unknown name such as
# {outt}, {params.NAME} with no such parameter.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "ph";
stages = (
  { id = "a"; kind = "command"; command = "echo 1 > {out}/v"; },
  { id = "b"; kind = "command"; command = "echo 2 > {out}/v"; },
  { id = "c"; kind = "command"; inputs = ["a"];
    command = "cat {in.a}/v {in.b}/v > {out}/v"; }
);
EOF
run_fail_msg 2 "wf.cfg:6: stage 'c': placeholder '{in.b}': 'b' is not among the stage's inputs" \
	"$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "ph";
stages = (
  { id = "a"; kind = "command";
    command = "echo 1 > {outt}/v"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'a': unknown placeholder '{outt}'" "$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "ph";
params = { nop = 1; };
stages = (
  { id = "a"; kind = "command"; params = { x = 1; };
    command = "echo {params.nope} > {out}/v"; }
);
EOF
run_fail_msg 2 "wf.cfg:5: stage 'a': '{params.nope}': neither the stage nor the workflow has a parameter 'nope'" \
	"$SULCUS" run wf.cfg
assert_no_workspace

# A parameter value referring to a missing workflow parameter.
cat >wf.cfg <<'EOF'
name = "ph";
stages = (
  { id = "a"; kind = "command"; command = "true";
    params = { x = "{params.nope}"; }; }
);
EOF
run_fail_msg 2 "wf.cfg:4: " "$SULCUS" run wf.cfg
assert_file_contains "$ERR" "the workflow has no parameter 'nope'"
assert_no_workspace

# Shell syntax that looks like a placeholder is left alone: ${HOME}, {{.
cat >wf.cfg <<'EOF'
name = "ph";
stages = (
  { id = "a"; kind = "command"; command = "x=${HOME}; echo '{{literal}' > {out}/v"; }
);
EOF
run_ok "$SULCUS" run wf.cfg
assert_eq "{literal}" "$(cat .sulcus/cache/*/out/v)" "output of a command with {{"

# A workflow parameter of the wrong type for the stage that takes it: the
# error is at the stage's parameter and names where the value was written
# (or that --set gave it).
rm -rf .sulcus
cat >wf.cfg <<'EOF2'
name = "ph";
params = {
  top = "two";
};
stages = (
  { id = "r"; kind = "rank"; inputs = ["e"]; params = { top = "{params.top}"; }; },
  { id = "e"; kind = "evaluate"; }
);
EOF2
run_fail_msg 2 "wf.cfg:6: stage 'r': parameter 'top': expected an integer, got 'two' (the value of workflow parameter 'top', wf.cfg:3)" \
	"$SULCUS" check wf.cfg
run_fail_msg 2 "stage 'r': parameter 'top': expected an integer, got 'lots' (the value of workflow parameter 'top', from --set)" \
	"$SULCUS" check --set params.top=lots wf.cfg
