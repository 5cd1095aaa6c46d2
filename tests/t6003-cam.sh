#!/bin/sh
# t6003-cam: the cam stage on a GAP and an FC model trained on separable
# generated slices: every slice gets a heatmap per method, CAM is "not
# applicable" (not a failure) on the FC head, Grad-CAM points where the
# class evidence is (the blob that tests/mkslices.c draws: left, centre or
# right third), the faithfulness and sanity summaries exist and say what
# they should, overlays are written, and everything is cached on a rerun.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 300

[ -n "${MKSLICES:-}" ] || skip "MKSLICES not set (run through make integration)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"
REPO=$(cd "$TESTS_DIR/.." && pwd)

cat >wf.cfg <<CFG
name = "cam-small";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 10 64 1"; },
  { id = "train_{net}"; kind = "train"; foreach = { net = ["gap", "fc"]; }; inputs = ["data"];
    params = { network = "$REPO/cfg/tiny_{net}.cfg"; epochs = 10; batch = 8; rotate = 5.0; seed = 3; threads = 2; }; },
  { id = "cam_{net}"; kind = "cam"; foreach = { net = ["gap", "fc"]; }; inputs = ["train_{net}", "data"];
    params = { curve_steps = 4; threads = 2; }; }
);
CFG

run_ok "$SULCUS" run wf.cfg
assert_ran cam_gap
assert_ran cam_fc

q() { sql_value "SELECT $1 FROM heatmaps h JOIN latest_executions e USING (cache_key) WHERE e.stage = '$2' ${3:+AND $3}"; }
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# Every test slice (3 subjects x 10) x 4 methods (the default cam, gradcam,
# gradcampp and the random baseline), predicted class as target.
assert_eq "$(q 'count(*)' cam_gap)" 120
assert_eq "$(q 'count(*)' cam_gap "target = predicted")" 120
# CAM needs a GAP head: on the FC model it is recorded as not applicable.
assert_eq "$(q 'count(*)' cam_fc "method = 'cam' AND applicable = 0 AND raw_max IS NULL")" 30
assert_eq "$(q 'count(*)' cam_fc "method = 'gradcam' AND applicable = 1")" 30
assert_eq "$(sql_value "SELECT count(*) FROM heatmap_tests t JOIN latest_executions e USING (cache_key)
                        WHERE e.stage = 'cam_fc' AND method = 'cam' AND name = 'not_applicable'")" 1

# CAM and Grad-CAM agree on a GAP model: Grad-CAM is ReLU(CAM) / (h w)
# (tests/check_gradcam.c pins that exactly); CAM keeps its negative part.
r=$(sql_value "SELECT value FROM heatmap_tests t JOIN latest_executions e USING (cache_key)
               WHERE e.stage = 'cam_gap' AND method = 'cam' AND name = 'agreement_with_gradcam'")
above "$r" 0.95 || fail "CAM and Grad-CAM correlate only $r on a GAP head"

# Faithfulness: removing the most heated pixels hurts the prediction more
# than adding them back from nothing helps it (deletion AUC < insertion AUC).
del=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'deletion_auc_gradcam'")
ins=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'insertion_auc_gradcam'")
above "$ins" "$del" || fail "Grad-CAM insertion AUC $ins is not above deletion AUC $del"
# Sanity check: the randomized model's heatmaps differ from the trained one's.
rho=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'sanity_rho_gradcam'")
above 0.9 "$rho" || fail "Grad-CAM of the randomized model correlates $rho with the trained model's"
# The random baseline: every figure's chance level.  Grad-CAM beats it on
# deletion (lower) and insertion (higher); its maps do not depend on the
# model, so the randomized model draws them again exactly.
mv() { sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = '$1' AND m.name = '$2'"; }
above "$(mv cam_gap deletion_auc_random)" "$del" || fail "Grad-CAM deletion AUC $del is not below the random map's $(mv cam_gap deletion_auc_random)"
above "$ins" "$(mv cam_gap insertion_auc_random)" || fail "Grad-CAM insertion AUC $ins is not above the random map's $(mv cam_gap insertion_auc_random)"
assert_eq "$(mv cam_gap sanity_rho_random)" 1.0

# Localization: the data's class evidence is a blob whose mask is given as
# the lesion mask; Grad-CAM's peak falls on it (pointing game) far more
# often than a random point would (the blob covers about 5% of the image).
hit=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'pointing_game_gradcam'")
above "$hit" 0.7 || fail "Grad-CAM pointing game $hit on blobs a tiny network learnt"
# ... and each figure has its chance level beside it: what a map spread
# evenly over the brain would score.  Lesion figures count only slices that
# have a lesion.
chance=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'pointing_game_chance_gradcam'")
above "$chance" 0 || fail "pointing game chance $chance"
above "$hit" "$chance" || fail "Grad-CAM pointing game $hit is not above its chance level $chance"
share=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'lesion_share_gradcam'")
schance=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'lesion_share_chance_gradcam'")
above "$schance" 0 || fail "lesion share chance $schance"
above "$share" "$schance" || fail "Grad-CAM lesion share $share is not above its chance level $schance"
assert_eq "$(q 'count(*)' cam_gap "applicable AND (pointing IS NULL) <> (lesion_share IS NULL)")" 0
assert_eq "$(sql_value "SELECT t.n = (SELECT count(*) FROM heatmaps h WHERE h.cache_key = t.cache_key AND h.method = 'gradcam' AND h.pointing IS NOT NULL) FROM heatmap_tests t JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND t.method = 'gradcam' AND t.name = 'lesion_share'")" 1

# Without lobe labels, lobes come from the geometric fallback, and say so.
assert_eq "$(q 'count(*)' cam_gap "lobe_source = 'geometric' AND abs(share_frontal + share_temporal + share_parietal + share_occipital + share_other - 1) < 1e-4")" 120

# Overlays: one PNG per heatmap.
key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'cam_gap'")
n=$(find ".sulcus/cache/$key/out/overlays/gradcam" -name '*_predicted.png' | wc -l)
assert_eq "$n" 30

run_ok "$SULCUS" run wf.cfg
assert_cached cam_gap
assert_cached cam_fc

# Without the sanity check its figures are not measured: NULL, never 0
# (lower is better there: 0 would read as a perfect score).
run_ok "$SULCUS" run --set cam_gap.sanity=false --only cam_gap wf.cfg
assert_ran cam_gap
assert_eq "$(q 'count(*)' cam_gap "sanity_rho IS NOT NULL")" 0
assert_eq "$(sql_value "SELECT count(*) FROM heatmap_tests t JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND t.name = 'sanity_rank_correlation' AND t.value IS NOT NULL")" 0
assert_eq "$(sql_value "SELECT count(*) FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name LIKE 'sanity_rho_%'")" 0

# Without CAM among the methods, on a GAP head: the randomization check
# once asked the model for CAM's weights into memory never allocated for
# them (SIGSEGV in the stage).
run_ok "$SULCUS" run --set 'cam_gap.methods=gradcam' --only cam_gap wf.cfg
assert_ran cam_gap
# (A randomized model may draw an all-zero Grad-CAM map: its rank
# correlation is undefined, NULL.)
above "$(q 'count(*)' cam_gap "sanity_rho IS NOT NULL")" 25 || fail "the sanity check measured too few heatmaps"

# HiResCAM, XGrad-CAM and LayerCAM: a heatmap per slice and method; on a
# GAP head each channel's gradient is constant over the map, so HiResCAM
# and XGrad-CAM draw Grad-CAM's maps (tests/check_heatmap.c pins the
# formulas), and LayerCAM, which drops the negative gradients, need not.
run_ok "$SULCUS" run --set 'cam_gap.methods=gradcam, hirescam, xgradcam, layercam' --only cam_gap wf.cfg
assert_ran cam_gap
assert_eq "$(q 'count(*)' cam_gap)" 120
assert_eq "$(q 'count(DISTINCT method)' cam_gap "applicable = 1")" 4
for m in hirescam xgradcam; do
	r=$(sql_value "SELECT value FROM heatmap_tests t JOIN latest_executions e USING (cache_key)
	               WHERE e.stage = 'cam_gap' AND method = 'gradcam' AND name = 'agreement_with_$m'")
	above "$r" 0.9999 || fail "Grad-CAM and $m correlate only $r on a GAP head"
done

# EigenCAM, Score-CAM and Ablation-CAM, on both heads (Ablation-CAM reruns
# the FC head's layers, dropout included, with each channel zeroed): a
# heatmap per slice and method, each pointing at the blob well above chance,
# and each changed by randomizing the weights.
for net in gap fc; do
	run_ok "$SULCUS" run --set "cam_$net.methods=gradcam, eigencam, scorecam, ablationcam" --only "cam_$net" wf.cfg
	assert_ran "cam_$net"
	assert_eq "$(q 'count(*)' "cam_$net" "applicable = 1")" 120
	for m in eigencam scorecam ablationcam; do
		hit=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_$net' AND m.name = 'pointing_game_$m'")
		chance=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_$net' AND m.name = 'pointing_game_chance_$m'")
		above "$hit" 0.5 || fail "cam_$net: $m pointing game $hit (chance $chance)"
		above "$hit" "$chance" || fail "cam_$net: $m pointing game $hit is not above its chance $chance"
		rho=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_$net' AND m.name = 'sanity_rho_$m'")
		above 0.9 "$rho" || fail "cam_$net: $m of the randomized model correlates $rho with the trained model's"
	done
done

# The cascading randomization: each learnable layer of tiny_gap (4
# convolutions and the connected layer) randomized in turn from the top;
# step 0 reproduces the maps exactly, the random baseline never changes,
# and Grad-CAM has lost its maps once the whole model is random.
run_ok "$SULCUS" run --set 'cam_gap.methods=gradcam, random' --set cam_gap.sanity_cascade=8 --only cam_gap wf.cfg
assert_ran cam_gap
cq() { sql_value "SELECT $1 FROM sanity_cascade c JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND $2"; }
assert_eq "$(cq 'count(*)' "1")" 12
assert_eq "$(cq 'group_concat(layer_type)' "method = 'gradcam' AND step > 0 ORDER BY step")" "connected,convolutional,convolutional,convolutional,convolutional"
assert_eq "$(cq 'min(rho)' "step = 0")" 1.0
assert_eq "$(cq 'min(rho)' "method = 'random'")" 1.0
assert_eq "$(cq 'max(n)' "1")" 8
above 0.9 "$(cq 'rho' "method = 'gradcam' AND step = 5")" || fail "Grad-CAM survives the randomization of every layer"
# Asked for more heatmaps than a method has: all of them.
run_ok "$SULCUS" run --set 'cam_gap.methods=gradcam, random' --set cam_gap.sanity_cascade=100 --only cam_gap wf.cfg
assert_eq "$(cq 'min(n)' "1")" 30

# The pixel-space attributions: a heatmap per slice and method, Integrated
# Gradients complete to a few percent at its default 32 steps, and every
# method pointing at the blob above chance.  (Guided backpropagation is
# known to fail the randomization check, Adebayo et al. 2018: no bound on
# its sanity figure here.)
run_ok "$SULCUS" run --set 'cam_gap.methods=gradcam, guidedbp, guidedgradcam, smoothgrad, intgrad, occlusion' \
	--set cam_gap.smoothgrad_samples=4 --only cam_gap wf.cfg
assert_ran cam_gap
assert_eq "$(q 'count(*)' cam_gap "applicable = 1")" 180
assert_eq "$(q 'count(*)' cam_gap "method = 'intgrad' AND completeness_error IS NOT NULL")" 30
assert_eq "$(q 'count(*)' cam_gap "method <> 'intgrad' AND completeness_error IS NOT NULL")" 0
ce=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'completeness_error_intgrad'")
above 0.05 "$ce" || fail "Integrated Gradients' completeness error $ce"
key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'cam_gap'")
for m in guidedbp guidedgradcam smoothgrad intgrad occlusion; do
	hit=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'pointing_game_$m'")
	chance=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'pointing_game_chance_$m'")
	above "$hit" "$chance" || fail "$m pointing game $hit is not above its chance $chance"
	assert_eq "$(find ".sulcus/cache/$key/out/overlays/$m" -name '*.png' | wc -l)" 30
done
# smooth_cams averages Grad-CAM over the noisy copies: other maps, still
# pointing at the blob well above chance.
raw1=$(q 'sum(raw_max)' cam_gap "method = 'gradcam'")
run_ok "$SULCUS" run --set 'cam_gap.methods=gradcam' --set cam_gap.smooth_cams=true --set cam_gap.smoothgrad_samples=4 \
	--only cam_gap wf.cfg
assert_ran cam_gap
[ "$(q 'sum(raw_max)' cam_gap "method = 'gradcam'")" != "$raw1" ] || fail "smooth_cams left Grad-CAM's maps unchanged"
hit=$(sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam_gap' AND m.name = 'pointing_game_gradcam'")
above "$hit" 0.5 || fail "smoothed Grad-CAM pointing game $hit (chance $chance)"

run_fail_msg 2 "parameter 'methods': unknown method 'gradcamx' (expected cam, gradcam, gradcampp, hirescam, xgradcam, layercam, eigencam, scorecam, ablationcam, random, guidedbp, guidedgradcam, smoothgrad, intgrad, occlusion)" \
	"$SULCUS" check --set 'cam_gap.methods=gradcam, gradcamx' wf.cfg
exit 0
