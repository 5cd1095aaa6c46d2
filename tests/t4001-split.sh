#!/bin/sh
# t4001-split: the split kind through the real binary: subject-level and
# group-stratified, deterministic for a seed, validated fractions, and a
# row-level split that is allowed only when asked for and says it leaks.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'CFG'
name = "split";
stages = (
  { id = "index"; kind = "command";
    command = "awk 'BEGIN { print \"subject\\tslice\\tgroup\"; for (s = 0; s < 38; s++) for (k = 0; k < 3; k++) printf \"sub-%02d\\t%d\\t%s\\n\", s, k, (s < 10 ? \"RRMS\" : s < 19 ? \"SPMS\" : \"HC\") }' > {out}/index.tsv"; },
  { id = "split"; kind = "split"; inputs = ["index"]; params = { table = "index.tsv"; seed = 3; }; }
);
CFG

run_ok "$SULCUS" run wf.cfg
key=$(sql_value "SELECT cache_key FROM executions WHERE stage = 'split'") || fail "query"
out=.sulcus/cache/$key/out/split.tsv
[ -f "$out" ] || fail "no split.tsv"
# Every subject in exactly one split.
leaks=$(awk -F '\t' 'NR > 1 { s[$1 "|" $4] = 1 } END { for (k in s) { split(k, a, "|"); n[a[1]]++ } for (x in n) if (n[x] > 1) c++; print c + 0 }' "$out")
assert_eq 0 "$leaks" "subjects in more than one split"
sql_ok "SELECT name, value FROM metrics m JOIN executions e USING (cache_key) WHERE e.stage = 'split' AND name LIKE 'subjects_%' ORDER BY name"
assert_eq "subjects_test,5.0
subjects_train,29.0
subjects_val,4.0" "$ROWS" "subjects per split"

# Fractions must add up; checked before anything runs.
run_fail_msg 2 "stage 'split': parameters 'train', 'val', 'test': expected fractions that sum to 1, got 1.05" \
	"$SULCUS" run wf.cfg --set split.train=0.8
run_fail_msg 2 "parameter 'level': expected one of subject|row, got 'slice'" "$SULCUS" check wf.cfg --set split.level=slice

# A row-level split leaks subjects, and says so in its log and metrics.
run_ok "$SULCUS" run wf.cfg --set split.level=row
log=$(sql_value "SELECT log_path FROM executions WHERE stage = 'split' AND run_id = (SELECT max(id) FROM runs)") || fail "query"
assert_file_contains "$log" "subject leakage"
assert_eq "1.0" "$(sql_value "SELECT value FROM metrics m JOIN executions e USING (cache_key) WHERE e.run_id = (SELECT max(id) FROM runs) AND e.stage = 'split' AND m.name = 'subject_leakage'")" "leakage metric"
exit 0
