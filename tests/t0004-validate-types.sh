#!/bin/sh
# t0004-validate-types: a key of the wrong type names the file, line and
# the type expected and found.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "types";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = 3; kind = "command"; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: 'id': expected a string, got an integer" "$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "types";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "command"; command = "true";
    inputs = "a"; }
);
EOF
run_fail_msg 2 "wf.cfg:5: stage 'b': 'inputs': expected a list of strings" "$SULCUS" run wf.cfg
assert_file_contains "$ERR" "got a string"
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "types";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "command"; command = "true"; inputs = [1]; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'b': 'inputs': expected strings, got an integer" "$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "types";
stages = (
  { id = "a"; kind = "command"; command = 42; }
);
EOF
run_fail_msg 2 "wf.cfg:3: stage 'a': 'command': expected a string" "$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "types";
stages = (
  { id = "a"; kind = "command"; command = "true";
    params = 3; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'a': 'params': expected a group" "$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "types";
stages = (
  { id = "a b"; kind = "command"; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:3: stage id 'a b': expected letters, digits" "$SULCUS" run wf.cfg
assert_no_workspace

# A list parameter (comma-separated names) with an empty item, or more
# items than the kind takes, is refused at its line, naming the limit.
cat >wf.cfg <<'EOF2'
name = "types";
stages = (
  { id = "syn"; kind = "synth"; },
  { id = "in"; kind = "ingest"; inputs = ["syn"]; },
  { id = "bc"; kind = "bias_correct"; inputs = ["in"];
    params = { modalities = "T1w,,FLAIR"; }; }
);
EOF2
run_fail_msg 2 "wf.cfg:6: stage 'bc': parameter 'modalities': expected at most 8 comma-separated names, none empty, got 'T1w,,FLAIR'" "$SULCUS" check wf.cfg
sed -i 's/modalities = "T1w,,FLAIR"/modalities = "a,b,c,d,e,f,g,h,i"/' wf.cfg
run_fail_msg 2 "parameter 'modalities': expected at most 8 comma-separated names, none empty, got 'a,b,c,d,e,f,g,h,i'" "$SULCUS" check wf.cfg
assert_no_workspace
