#!/bin/sh
# bench/darknet.sh - training and inference throughput (images/s) of
# sulcus's Darknet stages, side by side with the stock darknet CLI and, for
# reference, PyTorch on CPU.
#
# usage: sh bench/darknet.sh [STEPS]        (default 6 training steps per net)
#        NETS="tiny_gap:64 resnet18:224 vgg16_fc:224" THREADS=2 CLI_STEPS=2 sh bench/darknet.sh
#
# For each cfg/NET.cfg at SIZE, batch 16, THREADS threads:
#   sulcus   a workflow of tests/mkslices data (about STEPS x 16 training
#            slices), `train` for one epoch (its images_per_s metric: wall
#            time of the epoch's steps, on-the-fly augmentation included) and
#            `evaluate` on every slice (its images_per_s: the forward passes,
#            first batch excluded);
#   darknet  bench/ref_darknet_cli.sh: `darknet classifier train` on the same
#            cfg (median time per batch; its loader runs in a thread beside)
#            and `darknet classifier test` (batched inference), STEPS batches
#            (CLI_STEPS for nets above 96 pixels, default 3: the stock CLI
#            takes minutes per vgg16 batch);
#   torch    bench/ref_torch.py with torchvision's model of the same name
#            (resnet18, vgg16 = our vgg16_fc; none for the tiny nets), 3
#            classes, the same batch and threads, STEPS steps.
# Then the ratios sulcus / darknet and sulcus / torch.  Outputs under
# bench/out/darknet/.  On 2 cores the full default run takes about 25
# minutes, most of it the stock CLI on vgg16.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${1:-6}
NETS=${NETS:-"tiny_gap:64 resnet18:224 vgg16_fc:224"}
THREADS=${THREADS:-2}
CLI_STEPS=${CLI_STEPS:-3}
BATCH=16
OUT=$ROOT/bench/out/darknet
SULCUS=$ROOT/build/sulcus
MKSLICES=$ROOT/build/mkslices

make -s -C "$ROOT" all build/mkslices >/dev/null
mkdir -p "$OUT"

metric() {  # metric STAGE NAME
	"$SULCUS" query --csv "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key)
		WHERE e.stage = '$1' AND m.name = '$2' ORDER BY m.step DESC LIMIT 1" | sed -n 2p
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

rows=""
for spec in $NETS; do
	net=${spec%%:*}
	size=${spec#*:}
	work=$OUT/$net-$size
	rm -rf "$work"
	mkdir -p "$work"
	# mkslices puts 3 of every 5 subjects in training: 5 subjects per class
	# and enough slices each for STEPS batches.
	nsl=$(( (STEPS * BATCH + 8) / 9 ))
	cat >"$work/wf.cfg" <<CFG
name = "bench-darknet";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 $nsl $size 1"; },
  { id = "train"; kind = "train"; inputs = ["data"];
    params = { network = "$ROOT/cfg/$net.cfg"; size = $size; epochs = 1; batch = $BATCH;
               learning_rate = 0.001; threads = $THREADS; }; },
  { id = "evaluate"; kind = "evaluate"; inputs = ["train", "data"];
    params = { split = "all"; batch = $BATCH; threads = $THREADS; }; }
);
CFG
	echo "bench/darknet.sh: $net at ${size}x$size: sulcus" >&2
	(cd "$work" && "$SULCUS" run -q wf.cfg >/dev/null)
	ours_train=$(cd "$work" && metric train images_per_s)
	ours_infer=$(cd "$work" && metric evaluate images_per_s)

	echo "bench/darknet.sh: $net: darknet CLI" >&2
	steps=$STEPS
	[ "$size" -le 96 ] || steps=$CLI_STEPS
	cli=$(sh "$ROOT/bench/ref_darknet_cli.sh" "$ROOT/cfg/$net.cfg" "$size" "$BATCH" "$steps" "$work/cli" 2>"$work/cli.err") || {
		sed 's/^/    /' "$work/cli.err" >&2
		cli=""
	}
	cli_train=$(printf '%s\n' "$cli" | sed -n 's/^darknet-cli train images\/s: //p')
	cli_infer=$(printf '%s\n' "$cli" | sed -n 's/^darknet-cli infer images\/s: //p')

	case $net in
	resnet18 | resnet50 | alexnet*) model=${net%_*} ;;
	vgg16_fc) model=vgg16 ;;
	vgg19_fc) model=vgg19 ;;
	*) model="" ;;
	esac
	torch_train=""
	torch_infer=""
	if [ -n "$model" ]; then
		echo "bench/darknet.sh: $net: torch $model" >&2
		t=$(python3 "$ROOT/bench/ref_torch.py" "$model" "$size" "$BATCH" "$STEPS" "$THREADS" 2>"$work/torch.err") || {
			sed 's/^/    /' "$work/torch.err" >&2
			t=""
		}
		torch_train=$(printf '%s\n' "$t" | sed -n 's/^torch train images\/s: //p')
		torch_infer=$(printf '%s\n' "$t" | sed -n 's/^torch infer images\/s: //p')
	fi
	rows="$rows$(printf '%-10s %5s  train %8.2f %8s %8s  %7s %7s' "$net" "$size" "$ours_train" "${cli_train:--}" \
		"${torch_train:--}" "$(ratio "$ours_train" "$cli_train")" "$(ratio "$ours_train" "$torch_train")")
"
	rows="$rows$(printf '%-10s %5s  infer %8.2f %8s %8s  %7s %7s' "$net" "$size" "$ours_infer" "${cli_infer:--}" \
		"${torch_infer:--}" "$(ratio "$ours_infer" "$cli_infer")" "$(ratio "$ours_infer" "$torch_infer")")
"
done

echo "images/s, batch $BATCH, $THREADS threads, $(nproc) cores, $(uname -m):"
printf '%-10s %5s  %5s %8s %8s %8s  %7s %7s\n' net size "" sulcus darknet torch "vs dn" "vs torch"
printf '%s' "$rows"
