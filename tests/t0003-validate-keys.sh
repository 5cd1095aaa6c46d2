#!/bin/sh
# t0003-validate-keys: unknown keys of a stage are rejected, never ignored,
# with a "did you mean"; a kind's required key must be there.  (The
# command kind accepts any parameter names, so unknown *keys* are what a
# typo produces.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "keys";
stages = (
  { id = "a"; kind = "command";
    comand = "echo hi > {out}/x"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'a': unknown key 'comand' for kind 'command' (did you mean 'command'?)" \
	"$SULCUS" run wf.cfg
assert_no_workspace

# A misspelt engine key (inputs) is caught the same way.
cat >wf.cfg <<'EOF'
name = "keys";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "command"; command = "true";
    input = ["a"]; }
);
EOF
run_fail_msg 2 "wf.cfg:5: stage 'b': unknown key 'input' for kind 'command' (did you mean 'inputs'?)" \
	"$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "keys";
stages = (
  { id = "a"; kind = "command"; }
);
EOF
run_fail_msg 2 "wf.cfg:3: stage 'a': missing 'command'" "$SULCUS" run wf.cfg
assert_no_workspace
