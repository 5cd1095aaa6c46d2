#!/bin/sh
# bench/gpu.sh - the CUDA build on a GPU machine: its tests, then training,
# inference and heatmap throughput on the GPU beside the same machine's
# CPU, on the study's networks at 224x224.
#
# usage: sh bench/gpu.sh [STEPS]           (default 20 training batches of 16)
#        NETS="resnet18:224 vgg16_fc:224" DEVICE=0 CPU=1 sh bench/gpu.sh
#
# Build first, here or on the GPU machine: make GPU=1 all build/mkslices
# build/dncompare.  Then, for each cfg/NET.cfg at SIZE, batch 16:
#   tests t8001 and t8002 (the CUDA build against the CPU build);
#   `train` for one epoch of STEPS batches (images_per_s), `evaluate` on
#   every slice (images_per_s, forward only) and `cam` with Grad-CAM and
#   Grad-CAM++ on the test slices (heatmaps_per_s_<method>), with gpu = DEVICE,
#   and with CPU=1 the same on the CPU (all cores; slow for vgg16).
# Prints the GPU's name and one table.  Outputs under bench/out/gpu/.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${1:-20}
NETS=${NETS:-"resnet18:224 vgg16_fc:224"}
DEVICE=${DEVICE:-0}
CPU=${CPU:-1}
BATCH=16
OUT=$ROOT/bench/out/gpu
SULCUS=$ROOT/build/sulcus
MKSLICES=$ROOT/build/mkslices
for f in "$SULCUS" "$MKSLICES" "$ROOT/build/dncompare" "$ROOT/build/sulcus-darknet-gpu.so"; do
	[ -e "$f" ] || { echo "bench/gpu.sh: $f missing: make GPU=1 all build/mkslices build/dncompare" >&2; exit 2; }
done
mkdir -p "$OUT"

echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader -i "$DEVICE" 2>/dev/null || echo unknown)"
echo "CPU: $(nproc) cores, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"

echo "== tests t8001, t8002"
SULCUS=$SULCUS MKSLICES=$MKSLICES DNCOMPARE=$ROOT/build/dncompare sh "$ROOT/tests/run-integration.sh" t800 || true

metric() {  # metric STAGE NAME
	"$SULCUS" query --csv "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key)
		WHERE e.stage = '$1' AND m.name = '$2' ORDER BY m.step DESC LIMIT 1" | sed -n 2p
}

rows=""
for spec in $NETS; do
	net=${spec%%:*}
	size=${spec#*:}
	nsl=$(( (STEPS * BATCH + 8) / 9 ))
	for dev in "$DEVICE" $( [ "$CPU" = 1 ] && echo -1 ); do
		work=$OUT/$net-$size-$dev
		rm -rf "$work"
		mkdir -p "$work"
		cat >"$work/wf.cfg" <<CFG
name = "bench-gpu";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 $nsl $size 1"; },
  { id = "train"; kind = "train"; inputs = ["data"];
    params = { network = "$ROOT/cfg/$net.cfg"; size = $size; epochs = 1; batch = $BATCH; learning_rate = 0.001;
               bn_batches = 0; gpu = $dev; }; },
  { id = "evaluate"; kind = "evaluate"; inputs = ["train", "data"];
    params = { split = "all"; batch = $BATCH; gpu = $dev; }; },
  { id = "cam"; kind = "cam"; inputs = ["train", "data"];
    params = { methods = "gradcam, gradcampp"; batch = 8; curve_steps = 0; sanity = false; gpu = $dev; }; }
);
CFG
		echo "== $net ${size}x$size, gpu = $dev" >&2
		(cd "$work" && "$SULCUS" run -q wf.cfg >/dev/null) || { echo "bench/gpu.sh: see $work/.sulcus/logs" >&2; continue; }
		rows="$rows$(printf '%-10s %5s %6s  %9.2f %9.2f %9.2f %9.2f' "$net" "$size" \
			"$( [ "$dev" -ge 0 ] && echo "gpu $dev" || echo cpu)" \
			"$(cd "$work" && metric train images_per_s)" "$(cd "$work" && metric evaluate images_per_s)" \
			"$(cd "$work" && metric cam heatmaps_per_s_gradcam)" "$(cd "$work" && metric cam heatmaps_per_s_gradcampp)")
"
	done
done
echo "images/s (train, infer) and heatmaps/s, batch $BATCH:"
printf '%-10s %5s %6s  %9s %9s %9s %9s\n' net size device train infer gradcam gradcam++
printf '%s' "$rows"
