#!/bin/sh
# t7002-demo: workflows/demo.cfg itself, shrunk with --set to its smallest
# size (12 subjects at 4 mm, 12 slices each, 2 epochs): every stage runs,
# and the database holds the run, every model's metrics and predictions,
# heatmap statistics for both ranked models, all three methods and the
# random baseline, the atlas registration's Dice against the true lobes
# for every subject, and group maps in template space with their test and
# consistency;
# `sulcus report` renders it with the study's spec beside the workflow
# (workflows/report.cfg); a second run is all cached.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 600

[ -f /usr/share/mricron/templates/ch2.nii.gz ] || skip "mricron-data not installed (make deps installs it)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"
REPO=$(cd "$TESTS_DIR/.." && pwd)
set -- --set synth.rrms=4 --set synth.spms=4 --set synth.hc=4 --set synth.matrix=48x56x40 \
	--set slices.keep=12 --set params.epochs=2 --set 'cam_*.curve_steps=2' --set atlas.warp_samples=20000 \
	--set group_maps.permutations=200

run_ok "$SULCUS" run "$@" "$REPO/workflows/demo.cfg"
assert_eq "$(sql_value "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" succeeded
assert_eq "$(sql_value "SELECT count(*) FROM latest_executions WHERE status = 'ran'")" 17

for m in tiny_gap tiny_fc; do
	n=$(sql_value "SELECT count(*) FROM metrics m JOIN latest_executions e USING (cache_key)
	               WHERE e.stage = 'eval_$m' AND m.name IN ('accuracy', 'loss', 'macro_auc', 'subject_accuracy')")
	assert_eq "$n" 4 "evaluation metrics of $m"
	n=$(sql_value "SELECT count(*) FROM metrics m JOIN latest_executions e USING (cache_key)
	               WHERE e.stage = 'train_$m' AND m.name = 'train_loss'")
	assert_eq "$n" 2 "training curve points of $m"
	n=$(sql_value "SELECT count(*) FROM predictions p JOIN latest_executions e USING (cache_key) WHERE e.stage = 'eval_$m'")
	assert_eq "$n" 36 "predictions of $m (3 test subjects x 12 slices)"
done
assert_eq "$(sql_value "SELECT count(*) FROM rankings r JOIN latest_executions e USING (cache_key) WHERE selected = 1")" 2
for c in cam_top1 cam_top2; do
	for method in cam gradcam gradcampp random; do
		n=$(sql_value "SELECT count(*) FROM heatmaps h JOIN latest_executions e USING (cache_key)
		               WHERE e.stage = '$c' AND method = '$method'")
		assert_eq "$n" 36 "heatmap rows of $c / $method"
	done
	# Grad-CAM statistics exist whatever the head: lobe frequencies per group.
	n=$(sql_value "SELECT count(DISTINCT group_name) FROM heatmap_lobes l JOIN latest_executions e USING (cache_key)
	               WHERE e.stage = '$c' AND method = 'gradcam' AND heatmaps > 0")
	assert_eq "$n" 3 "groups with Grad-CAM lobe frequencies in $c"
done
# CAM applies to the GAP model only.
assert_eq "$(sql_value "SELECT count(*) FROM heatmaps h JOIN latest_executions e USING (cache_key)
                        WHERE e.stage LIKE 'cam_top%' AND method = 'cam' AND applicable = 1")" 36

# The run recorded workflows/demo.cfg: its report is the study's spec beside it.
run_ok "$SULCUS" report --out rep
assert_contains "$(cat "$OUT")" "(spec $REPO/workflows/report.cfg)"
grep -q 'id="heatmaps"' rep/index.html || fail "the report has no heatmaps section"
# The atlas check against the true lobes: every subject, better than no registration.
assert_eq 12 "$(sql_value "SELECT count(*) FROM atlas_quality q JOIN latest_executions e USING (cache_key)
                           WHERE e.stage = 'atlas' AND dice_lobes > dice_lobes_none")" "subjects the atlas registration improved"
s=$(awk 'index($0, "<section id=\"atlas\"") { on = 1 } on { print } on && /<\/section>/ { exit }' rep/index.html)
assert_contains "$s" "<td>sub-12</td>" "the report's atlas section"
# Group maps: every subject of both models in template space, all three
# groups tested (4 subjects each), every group's consistency.
assert_eq "$(sql_value "SELECT count(*) FROM group_map_tests t JOIN latest_executions e USING (cache_key)
                        WHERE e.stage = 'group_maps' AND groups = 3 AND subjects = 12 AND voxels > 100")" 4 \
	"tests of 2 models x Grad-CAM and Grad-CAM++ (CAM: the GAP model only)"
assert_eq "$(sql_value "SELECT count(*) FROM map_consistency c JOIN latest_executions e USING (cache_key)
                        WHERE e.stage = 'group_maps' AND across = 'subjects' AND pairs = 6 AND spearman IS NOT NULL")" 12 \
	"consistency across the subjects of each group (2 models x 2 methods x 3 groups)"
s=$(awk 'index($0, "<section id=\"group_tests\"") { on = 1 } on { print } on && /<\/section>/ { exit }' rep/index.html)
assert_contains "$s" "<td>cam_all1</td>" "the report's group test section"
run_ok "$SULCUS" run "$@" "$REPO/workflows/demo.cfg"
assert_eq "$(sql_value "SELECT count(*) FROM latest_executions WHERE status = 'cached'")" 17
exit 0
