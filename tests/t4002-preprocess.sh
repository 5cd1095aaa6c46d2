#!/bin/sh
# t4002-preprocess: the MRI preprocessing chain through the real binary, on
# a small synthetic cohort: every stage runs, then comes from the cache;
# coregister recovers the misalignments synth made; bias_correct lowers the
# white-matter CoV; slices writes label slices and reference volumes; slices
# and split are consistent; every NIfTI file we wrote passes the checks of
# nifti_tool, with the qform equal to the sform.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 600

command -v nifti_tool >/dev/null || skip "nifti_tool not installed (make deps installs nifti-bin)"
[ -f /usr/share/mricron/templates/ch2.nii.gz ] || skip "mricron-data not installed (make deps installs it)"

cat >wf.cfg <<'CFG'
name = "preprocess-small";
stages = (
  { id = "synth"; kind = "synth"; params = { rrms = 2; spms = 2; hc = 2; matrix = "64x76x56"; seed = 3; }; },
  { id = "ingest"; kind = "ingest"; inputs = ["synth"]; },
  { id = "bias"; kind = "bias_correct"; inputs = ["ingest"]; params = { shrink = 2; levels = 2; }; },
  { id = "coreg"; kind = "coregister"; inputs = ["bias", "synth"]; },
  { id = "slices"; kind = "slices"; inputs = ["coreg"]; params = { keep = 30; size = 64; }; },
  { id = "split"; kind = "split"; inputs = ["slices"]; params = { table = "index.tsv"; train = 0.5; val = 0.0; test = 0.5; }; }
);
CFG

run_ok "$SULCUS" run wf.cfg
for s in synth ingest bias coreg slices split; do assert_ran "$s"; done
run_ok "$SULCUS" run wf.cfg
for s in synth ingest bias coreg slices split; do assert_cached "$s"; done

metric() {
	sql_value "SELECT value FROM metrics m JOIN executions e USING (cache_key) WHERE e.stage = '$1' AND e.run_id = 1 AND m.name = '$2'"
}
res=$(metric coreg residual_mm_mean) || fail "query"
awk -v r="$res" 'BEGIN { exit !(r > 0 && r < 0.2) }' || fail "coregister's mean residual is $res mm (expected under 0.2 mm at 2.8 mm voxels)"
better=$(sql_value "SELECT sum(a.value < b.value) FROM metrics a JOIN metrics b ON a.cache_key = b.cache_key
	AND b.name = replace(a.name, '_after', '_before')
	JOIN executions e ON e.cache_key = a.cache_key
	WHERE e.stage = 'bias' AND e.run_id = 1 AND a.name LIKE 'wm_cov_%T1w_after'") || fail "query"
assert_eq 6 "$better" "subjects whose T1 white-matter CoV bias_correct lowered"
assert_eq "180.0" "$(metric slices slices_kept)" "slices kept (30 x 6)"
out=.sulcus/cache/$(sql_value "SELECT cache_key FROM executions WHERE stage = 'split' AND run_id = 1")/out/split.tsv
leaks=$(awk -F '\t' 'NR > 1 { s[$1 "|" $NF] = 1 } END { for (k in s) { split(k, a, "|"); n[a[1]]++ } for (x in n) if (n[x] > 1) c++; print c + 0 }' "$out")
assert_eq 0 "$leaks" "subjects in two splits"

# slices also writes the lobe and lesion label slices of the synthetic
# cohort's ground truth, and each subject's T1 as the heatmaps' reference grid.
sl=.sulcus/cache/$(sql_value "SELECT cache_key FROM executions WHERE stage = 'slices' AND run_id = 1")/out
coreg=.sulcus/cache/$(sql_value "SELECT cache_key FROM executions WHERE stage = 'coreg' AND run_id = 1")/out
assert_eq "subject slice group class path brain_fraction ref lobes lesions participant" "$(head -n 1 "$sl/index.tsv" | tr '\t' ' ')" \
	"slices index.tsv header"
for lab in lobes lesions; do
	assert_eq 180 "$(find "$sl/labels/$lab" -name 'sub-*_z*.png' | wc -l | tr -d ' ')" "$lab label slices"
	# not all alike (all empty, say): some slices cross lobes' borders and lesions
	kinds=$(find "$sl/labels/$lab" -name '*.png' -exec cksum {} + | awk '{ print $1 }' | sort -u | wc -l)
	[ "$kinds" -gt 10 ] || fail "$lab label slices: only $kinds different files"
done
missing=$(awk -F '\t' -v d="$sl" 'NR > 1 { for (c = 7; c <= 9; c++) if (system("test -f \"" d "/" $c "\"")) { print $c; exit } }' "$sl/index.tsv")
assert_eq "" "$missing" "files named in slices index.tsv that are missing"
assert_eq 6 "$(find "$sl/ref" -name 'sub-*.nii.gz' | wc -l | tr -d ' ')" "reference volumes"
awk -F '\t' 'NR == 1 { for (c = 1; c <= NF; c++) if ($c == "T1w") t = c; next } { print $1 "\t" $t }' "$coreg/subjects.tsv" >"$TEST_ROOT/t1s"
while IFS="$(printf '\t')" read -r sub t1; do
	cmp -s "$coreg/$t1" "$sl/ref/$sub.nii.gz" || fail "slices ref/$sub.nii.gz differs from coregister's $t1"
done <"$TEST_ROOT/t1s"

# Every NIfTI file in the cache: valid for libnifti's own checker, qform = sform.
find .sulcus/cache -name '*.nii.gz' >"$TEST_ROOT/niftis"
n=0
while read -r f; do
	nifti_tool -check_hdr -check_nim -infiles "$f" >"$TEST_ROOT/nt" 2>&1 || { cat "$TEST_ROOT/nt" >&2; fail "nifti_tool rejects $f"; }
	codes=$(nifti_tool -disp_nim -field qform_code -field sform_code -infiles "$f" | awk '/_code/ { print $NF }' | sort -u | wc -l)
	[ "$codes" = 1 ] || fail "$f: qform_code differs from sform_code"
	n=$((n + 1))
done <"$TEST_ROOT/niftis"
[ "$n" -ge 60 ] || fail "only $n NIfTI files found in the cache"
exit 0
