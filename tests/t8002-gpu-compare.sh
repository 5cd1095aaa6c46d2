#!/bin/sh
# t8002-gpu-compare: on a machine with a CUDA GPU, the CUDA build computes
# on it and agrees with the CPU build.  tests/dncompare.c on four networks
# (probabilities within 1e-3, Grad-CAM and Grad-CAM++ maps within 1e-3 of
# their maximum, weights through the device bit-exact, training within
# 1e-2), then the stages end to end: `train` on the GPU, and `evaluate` and
# `cam` of that model on the GPU and on the CPU, whose probabilities and
# heatmaps must agree.  Skipped, with the reason, where there is no GPU.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 600

[ -n "${MKSLICES:-}" ] && [ -n "${DNCOMPARE:-}" ] || skip "MKSLICES or DNCOMPARE not set (run through make integration)"
GPU_SO=$(dirname "$SULCUS")/sulcus-darknet-gpu.so
[ -f "$GPU_SO" ] || skip "the CUDA build is not built here ($GPU_SO: make GPU=1)"
REPO=$(cd "$TESTS_DIR/.." && pwd)

rc=0
"$DNCOMPARE" 16 "$REPO/cfg/tiny_gap.cfg" >probe.out 2>&1 || rc=$?
[ "$rc" -ne 77 ] || skip "$(sed -n 's/^SKIP: //p' probe.out)"
[ "$rc" -eq 0 ] || { cat probe.out; fail "dncompare on cfg/tiny_gap.cfg (batch 16): exit status $rc"; }

# The study's networks at 64 pixels, batch 4, and tests/t8001's small ones.
for net in resnet18 resnet50 vgg16_fc tiny_gap; do
	sed -e 's/^batch=.*/batch=4/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
		"$REPO/cfg/$net.cfg" >"$net.cfg"
done
run_ok "$DNCOMPARE" 4 resnet18.cfg resnet50.cfg vgg16_fc.cfg tiny_gap.cfg
cat "$OUT"
assert_contains "$(cat "$OUT")" "the two builds agree"

cat >wf.cfg <<CFG
name = "gpu-e2e";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 6 64 1"; },
  { id = "train"; kind = "train"; inputs = ["data"];
    params = { network = "$REPO/cfg/tiny_gap.cfg"; epochs = 4; batch = 8; seed = 3; gpu = 0; }; },
  { id = "eval_gpu"; kind = "evaluate"; inputs = ["train", "data"]; params = { split = "all"; gpu = 0; }; },
  { id = "eval_cpu"; kind = "evaluate"; inputs = ["train", "data"]; params = { split = "all"; }; },
  { id = "cam_gpu"; kind = "cam"; inputs = ["train", "data"]; params = { curve_steps = 4; gpu = 0; }; },
  { id = "cam_cpu"; kind = "cam"; inputs = ["train", "data"]; params = { curve_steps = 4; }; }
);
CFG
run_ok "$SULCUS" run wf.cfg
assert_eq 0 "$(sql_value "SELECT CAST(value AS INTEGER) FROM metrics m JOIN latest_executions e USING (cache_key)
	WHERE e.stage = 'train' AND m.name = 'gpu'")"

# The same model on the two devices: per slice, per heatmap.
d=$(sql_value "SELECT max(abs(a.prob_label - b.prob_label)) FROM predictions a JOIN predictions b USING (subject, slice)
	WHERE a.cache_key = (SELECT cache_key FROM latest_executions WHERE stage = 'eval_gpu')
	  AND b.cache_key = (SELECT cache_key FROM latest_executions WHERE stage = 'eval_cpu')")
awk -v d="$d" 'BEGIN { exit !(d != "" && d <= 1e-3) }' || fail "evaluate: GPU and CPU probabilities differ by $d (bound 1e-3)"
d=$(sql_value "SELECT max(max(abs(a.share_frontal - b.share_frontal), abs(a.share_other - b.share_other),
	abs(a.raw_max - b.raw_max) / max(abs(b.raw_max), 1e-12))) FROM heatmaps a JOIN heatmaps b USING (subject, slice, method)
	WHERE a.cache_key = (SELECT cache_key FROM latest_executions WHERE stage = 'cam_gpu')
	  AND b.cache_key = (SELECT cache_key FROM latest_executions WHERE stage = 'cam_cpu') AND a.applicable")
awk -v d="$d" 'BEGIN { exit !(d != "" && d <= 1e-3) }' || fail "cam: GPU and CPU heatmaps differ by $d (bound 1e-3)"
exit 0
