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

# k-fold cross-validation: five split stages of one seed test every subject
# exactly once, each group spread over the folds (10 RRMS: 2 per fold), and
# within a fold no subject is in two splits.
cat >cv.cfg <<'CFG'
name = "cv";
stages = (
  { id = "index"; kind = "command";
    command = "awk 'BEGIN { print \"subject\\tslice\\tgroup\"; for (s = 0; s < 38; s++) for (k = 0; k < 3; k++) printf \"sub-%02d\\t%d\\t%s\\n\", s, k, (s < 10 ? \"RRMS\" : s < 19 ? \"SPMS\" : \"HC\") }' > {out}/index.tsv"; },
  { id = "split_f{fold}"; kind = "split"; foreach = { fold = [1, 2, 3, 4, 5]; }; inputs = ["index"];
    params = { table = "index.tsv"; seed = 3; folds = 5; fold = "{fold}"; }; }
);
CFG
run_ok "$SULCUS" run cv.cfg
: >tested
for f in 1 2 3 4 5; do
	out=.sulcus/cache/$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'split_f$f'")/out/split.tsv
	assert_eq 0 "$(awk -F '\t' 'NR > 1 { s[$1 "|" $4] = 1 } END { for (k in s) { split(k, a, "|"); n[a[1]]++ } for (x in n) if (n[x] > 1) c++; print c + 0 }' "$out")" "fold $f: subjects in two splits"
	assert_eq 2 "$(awk -F '\t' 'NR > 1 && $4 == "test" && $3 == "RRMS" { s[$1] = 1 } END { print length(s) }' "$out")" "fold $f: RRMS subjects tested"
	n=$(awk -F '\t' 'NR > 1 && $4 == "test" { s[$1] = 1 } END { print length(s) }' "$out")
	[ "$n" -ge 7 ] && [ "$n" -le 8 ] || fail "fold $f tests $n subjects (38 in 5 folds: 7 or 8)"
	awk -F '\t' 'NR > 1 && $4 == "test" { print $1 }' "$out" | sort -u >>tested
	assert_eq 4 "$(awk -F '\t' 'NR > 1 && $4 == "val" { s[$1] = 1 } END { print length(s) }' "$out")" "fold $f: validation subjects (0.10 / 0.85 of the other 30 or 31)"
done
assert_eq 38 "$(sort -u tested | wc -l | tr -d ' ')" "subjects tested once over the folds"
assert_eq 38 "$(wc -l <tested | tr -d ' ')" "tests over the folds"
run_fail_msg 2 "parameter 'fold': expected 1 to 5 (folds), got 6" "$SULCUS" check cv.cfg --set split_f1.fold=6
run_fail_msg 2 "parameter 'folds': expected 0 (no cross-validation) or at least 2 folds, got 1" "$SULCUS" check cv.cfg --set split_f1.folds=1
run_fail_msg 2 "parameter 'fold': 3 without folds (0: no cross-validation)" "$SULCUS" check cv.cfg --set split_f3.folds=0
run_fail_msg 2 "parameter 'folds': cross-validation deals out subjects" "$SULCUS" check cv.cfg --set split_f1.level=row
exit 0
