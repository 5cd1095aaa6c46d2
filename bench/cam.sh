#!/bin/sh
# bench/cam.sh - heatmaps per second of the `cam` stage per method, and
# their cost in forward passes, beside a PyTorch Grad-CAM done the way
# pytorch-grad-cam does it (bench/ref_torch_gradcam.py).
#
# usage: sh bench/cam.sh [SLICES]          (default 32 test slices per net)
#        NETS="resnet18:224 vgg16_fc:224 tiny_gap:64" THREADS=2 sh bench/cam.sh
#        PERCHANNEL="resnet18 tiny_gap" sh bench/cam.sh
#
# For each cfg/NET.cfg at SIZE, batch 16 (8 for the heatmaps), THREADS
# threads: tests/mkslices data, `train` for one step's worth of images (the
# weights only need to exist), `evaluate` on the test slices (its
# images_per_s: one forward pass per image), and `cam` on the same slices
# with every method, no deletion/insertion curves and no sanity pass (its
# heatmaps_per_s_<method>: the forward and partial backward that the
# method needs, as if it ran alone, plus its arithmetic).  Forward passes
# per heatmap = forward images/s / heatmaps/s.  Score-CAM and Ablation-CAM
# run a forward pass per channel of the target layer (512 on ResNet18 and
# VGG16), occlusion one per window (15 x 15 at the default window), and
# SmoothGrad and Integrated Gradients a full backward pass per noisy copy
# (16) or step (32), so these run in a second `cam` stage on 3 slices (one
# per test subject), and only for the nets in PERCHANNEL (VGG16's 512
# masked passes at 2 images/s would take 13 minutes; its ratio is
# ResNet18's channel count again).  Stages run one at a time (-j 1): two
# timed stages must not share the cores.  Outputs under bench/out/cam/.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SLICES=${1:-32}
NETS=${NETS:-"resnet18:224 vgg16_fc:224 tiny_gap:64"}
THREADS=${THREADS:-2}
PERCHANNEL=${PERCHANNEL:-"resnet18 tiny_gap"}
OUT=$ROOT/bench/out/cam
SULCUS=$ROOT/build/sulcus
MKSLICES=$ROOT/build/mkslices

make -s -C "$ROOT" all build/mkslices >/dev/null
mkdir -p "$OUT"

metric() {  # metric STAGE NAME
	"$SULCUS" query --csv "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key)
		WHERE e.stage = '$1' AND m.name = '$2'" | sed -n 2p
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

rows=""
for spec in $NETS; do
	net=${spec%%:*}
	size=${spec#*:}
	work=$OUT/$net-$size
	rm -rf "$work"
	mkdir -p "$work"
	# mkslices puts one of every 5 subjects in the test split: 5 subjects
	# per class, SLICES / 3 slices each.
	nsl=$(( (SLICES + 2) / 3 ))
	cat >"$work/wf.cfg" <<CFG
name = "bench-cam";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 $nsl $size 1"; },
  { id = "train"; kind = "train"; inputs = ["data"];
    params = { network = "$ROOT/cfg/$net.cfg"; size = $size; epochs = 1; batch = 16;
               learning_rate = 0.001; threads = $THREADS; }; },
  { id = "evaluate"; kind = "evaluate"; inputs = ["train", "data"]; params = { batch = 8; threads = $THREADS; }; },
  { id = "cam"; kind = "cam"; inputs = ["train", "data"];
    params = { batch = 8; curve_steps = 0; sanity = false; threads = $THREADS;
               methods = "cam, gradcam, gradcampp, hirescam, xgradcam, layercam, eigencam, guidedbp, guidedgradcam"; }; }
CFG
	case " $PERCHANNEL " in
	*" $net "*) cat >>"$work/wf.cfg" <<CFG
  , { id = "data1"; kind = "command"; command = "$MKSLICES {out} 5 1 $size 1"; },
  { id = "cam_perchannel"; kind = "cam"; inputs = ["train", "data1"];
    params = { batch = 8; curve_steps = 0; sanity = false; threads = $THREADS;
               methods = "scorecam, ablationcam, smoothgrad, intgrad, occlusion"; }; }
CFG
		;;
	esac
	echo ");" >>"$work/wf.cfg"

	echo "bench/cam.sh: $net at ${size}x$size" >&2
	(cd "$work" && "$SULCUS" run -q -j 1 wf.cfg >/dev/null)
	fwd=$(cd "$work" && metric evaluate images_per_s)
	# (random, the chance baseline, costs nothing: no row.)
	for m in cam gradcam gradcampp hirescam xgradcam layercam eigencam guidedbp guidedgradcam \
		scorecam ablationcam smoothgrad intgrad occlusion; do
		stage=cam
		case $m in scorecam | ablationcam | smoothgrad | intgrad | occlusion) stage=cam_perchannel ;; esac
		hps=$(cd "$work" && metric "$stage" "heatmaps_per_s_$m")
		[ -n "$hps" ] || continue
		rows="$rows$(printf '%-10s %5s  %-11s %10.2f %10.2f %8s' "$net" "$size" "$m" "$fwd" "$hps" "$(ratio "$fwd" "$hps")")
"
	done
	case $net in
	resnet18) model=resnet18 ;;
	vgg16_fc) model=vgg16 ;;
	*) model="" ;;
	esac
	if [ -n "$model" ]; then
		t=$(python3 "$ROOT/bench/ref_torch_gradcam.py" "$model" "$size" 8 4 "$THREADS" 2>"$work/torch.err") || {
			sed 's/^/    /' "$work/torch.err" >&2
			t=""
		}
		tf=$(printf '%s\n' "$t" | sed -n 's/^torch forward images\/s: //p')
		tg=$(printf '%s\n' "$t" | sed -n 's/^torch gradcam heatmaps\/s: //p')
		[ -n "$tg" ] && rows="$rows$(printf '%-10s %5s  %-11s %10.2f %10.2f %8s' "$net" "$size" "torch-gc" "$tf" "$tg" "$(ratio "$tf" "$tg")")
"
	fi
done

echo "heatmaps, batch 8, $THREADS threads, $(nproc) cores, $(uname -m):"
printf '%-10s %5s  %-11s %10s %10s %8s\n' net size method "forward/s" "heatmaps/s" "fwd/map"
printf '%s' "$rows"
