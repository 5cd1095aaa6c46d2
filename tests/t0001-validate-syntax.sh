#!/bin/sh
# t0001-validate-syntax: a libconfig syntax error, a missing file and a
# file without 'name' are bad input: exit status 2, a message naming the
# file and line, and nothing created.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "syntax";
stages = (
  { id = "a"; kind = "command"; command = "true"; }
  { id = "b"; kind = "command"; command = "true"; }
);
EOF
for cmd in check plan run dag; do
	run_fail_msg 2 "wf.cfg:4: syntax error" "$SULCUS" "$cmd" wf.cfg
	assert_no_workspace
done

# The line is that of the error, not of the end of the file.
cat >wf.cfg <<'EOF'
name = "syntax";
stages = (
  { id = "a"; kind = "command"; command = "true" = 3; },
  { id = "b"; kind = "command"; command = "true"; },
  { id = "c"; kind = "command"; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:3: syntax error" "$SULCUS" run wf.cfg
assert_no_workspace

# A file named through a folder is named that way in the message.
mkdir sub
cp wf.cfg sub/w.cfg
run_fail_msg 2 "sub/w.cfg:3: syntax error" "$SULCUS" run sub/w.cfg
assert_no_workspace

run_fail_msg 2 "cannot read 'missing.cfg'" "$SULCUS" run missing.cfg
assert_no_workspace

printf 'stages = ();\n' >wf.cfg
run_fail_msg 2 "wf.cfg: missing 'name'" "$SULCUS" run wf.cfg
assert_no_workspace

printf 'name = "x";\nstage = ();\n' >wf.cfg
run_fail_msg 2 "wf.cfg:2: unknown top-level key 'stage' (expected name, params, stages, executor, resources) (did you mean 'stages'?)" \
	"$SULCUS" run wf.cfg
assert_no_workspace
