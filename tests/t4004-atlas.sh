#!/bin/sh
# t4004-atlas: the Colin27 template registered (affine, then B-spline) to
# each synthetic subject, its lobes, JHU tracts and brain warped onto the
# subject's grid.  The warped lobes must beat no registration and the
# affine alone against synth's true lobes, without folding,
# the warped brain must overlap the subject's brain; the table points at
# the warped labels and keeps the truth as lobes_true; a low overlap is
# flagged; a missing image or label atlas fails naming it, or with
# bad = "drop" the subject is left out and said so.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 600

T=/usr/share/mricron/templates
[ -f $T/ch2.nii.gz ] && [ -f $T/JHU-WhiteMatter-labels-1mm.nii.gz ] ||
	skip "mricron-data not installed (make deps installs it)"

cat >wf.cfg <<'CFG'
name = "atlas-small";
stages = (
  { id = "synth"; kind = "synth"; params = { rrms = 1; spms = 1; hc = 1; matrix = "64x76x56"; seed = 3; }; },
  { id = "ingest"; kind = "ingest"; inputs = ["synth"]; },
  { id = "atlas"; kind = "atlas"; inputs = ["ingest"]; params = { warp_samples = 20000; }; }
);
CFG
# (A tenth of the default samples: these heads are small, and the test
# runs the stage five times, under AddressSanitizer too.)
run_ok "$SULCUS" run wf.cfg
assert_ran atlas

m() { sql_value "SELECT round(value, 3) FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'atlas' AND m.name = '$1'"; }
warp=$(m dice_lobes_mean) aff=$(m dice_lobes_affine_mean) none=$(m dice_lobes_none_mean) brain=$(m dice_brain_mean)
echo "lobe Dice: warp $warp, affine $aff, no registration $none; brain Dice $brain"
awk -v w="$warp" -v a="$aff" -v n="$none" 'BEGIN { exit !(a > n + 0.02 && a > 0.9 && w > a + 0.01 && w > 0.95) }' ||
	fail "lobe Dice $warp warped, $aff affine, $none without: expected above 0.95, 0.01 over the affine and 0.02 more"
assert_eq 3 "$(sql_value "SELECT count(*) FROM atlas_quality WHERE dice_lobes > dice_lobes_affine AND jacobian_min > 0
                          AND folded = 0")" "subjects the warp improved over the affine, without folding"
awk -v b="$brain" 'BEGIN { exit !(b > 0.95) }' || fail "brain Dice $brain: expected above 0.95"
assert_eq 3 "$(sql_value "SELECT count(*) FROM atlas_quality WHERE dice_lobes > dice_lobes_none AND flagged = 0")" \
	"subjects whose registration beat none, unflagged"

out=.sulcus/cache/$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'atlas'")/out
cols=$(head -n 1 "$out/subjects.tsv" | tr '\t' ' ')
assert_contains "$cols" " lobes_true " "subjects.tsv header"
assert_contains "$cols" " lobes wm_tracts atlas_brain" "subjects.tsv header"
row2=$(awk -F '\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 3 { print $c["lobes"], $c["wm_tracts"], $c["lobes_true"] }' \
	"$out/subjects.tsv")
assert_eq "atlas/sub-02/sub-02_lobes.nii.gz atlas/sub-02/sub-02_wm_tracts.nii.gz derivatives/synth/sub-02/sub-02_lobes.nii.gz" \
	"$row2" "sub-02's label paths"
for f in atlas/sub-02/sub-02_lobes.nii.gz atlas/sub-02/sub-02_wm_tracts.nii.gz derivatives/synth/sub-02/sub-02_lobes.nii.gz; do
	[ -f "$out/$f" ] || fail "no $f in the output"
done
assert_eq 4 "$(wc -l <"$out/transforms.tsv" | tr -d ' ')" "transforms.tsv lines"
assert_eq "atlas/sub-02/sub-02_warp" "$(awk -F '\t' 'NR == 3 { print $NF }' "$out/transforms.tsv")" "sub-02's warp"
for a in x y z; do
	[ -f "$out/atlas/sub-02/sub-02_warp_$a.nii.gz" ] || fail "no sub-02_warp_$a.nii.gz in the output"
done
for f in lobes wm_tracts brain; do
	[ -f "$out/template/$f.nii.gz" ] || fail "no template/$f.nii.gz in the output"
done
assert_contains "$(cat "$out/template/wm_tracts.tsv")" "3	Genu_of_corpus_callosum" "the tracts' names"

# A demanding threshold flags everyone, with a warning in the log.
run_ok "$SULCUS" run --set atlas.min_brain_dice=0.999 wf.cfg
assert_eq "3.0" "$(m flagged)" "subjects flagged"
log=$(sql_value "SELECT log_path FROM latest_executions WHERE stage = 'atlas'")
assert_file_contains "$log" "subject 'sub-01': the warped template brain overlaps its mask with Dice"

# A label atlas missing from the templates folder, and a subject without its image.
mkdir tpl && for f in ch2.nii.gz ch2bet.nii.gz aal.nii.gz aal.nii.txt; do ln -s $T/$f tpl/$f; done
run_fail_msg 1 "tpl/JHU-WhiteMatter-labels-1mm.nii.gz': no such file" "$SULCUS" run --set atlas.templates=tpl wf.cfg
# A table whose second subject has no T1w image.
cat >wf2.cfg <<'CFG'
name = "atlas-missing";
stages = (
  { id = "synth"; kind = "synth"; params = { rrms = 1; spms = 1; hc = 1; matrix = "64x76x56"; seed = 3; }; },
  { id = "ingest"; kind = "ingest"; inputs = ["synth"]; },
  { id = "holes"; kind = "command"; inputs = ["ingest"];
    command = "cp -r {in.ingest}/. {out}/ && rm -r {out}/tables && awk -F '\\t' 'BEGIN { OFS = FS } NR == 3 { $4 = \"\" } { print }' {in.ingest}/subjects.tsv >{out}/subjects.tsv"; },
  { id = "atlas"; kind = "atlas"; inputs = ["holes"]; params = { warp_samples = 20000; }; }
);
CFG
run_fail_msg 1 "subject 'sub-02': no T1w image in the table" "$SULCUS" run wf2.cfg
# bad = "drop": that subject is left out, and said so.
run_ok "$SULCUS" run --set atlas.bad=drop wf2.cfg
log=$(sql_value "SELECT log_path FROM latest_executions WHERE stage = 'atlas'")
assert_file_contains "$log" "atlas: dropped subject 'sub-02' (bad = \"drop\"): subject 'sub-02': no T1w image in the table"
kept=$(awk -F '\t' 'NR > 1 { printf "%s ", $1 }' \
	".sulcus/cache/$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'atlas'")/out/subjects.tsv")
assert_eq "sub-01 sub-03 " "$kept" "subjects left in the table"
assert_eq "dropped|1" "$(sql_value "SELECT q.status || '|' || CAST(m.value AS INTEGER) FROM atlas_quality q
	JOIN latest_executions e USING (cache_key) JOIN metrics m ON m.cache_key = e.cache_key AND m.name = 'subjects_dropped'
	WHERE e.stage = 'atlas' AND q.subject = 'sub-02'")" "sub-02's status and the count of dropped subjects"
