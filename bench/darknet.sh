#!/bin/sh
# bench/darknet.sh - training and inference throughput (images/s) of
# sulcus's Darknet stages on the oneDNN backend, side by side with the
# reference backend (Darknet's own layers), PyTorch on the CPU and,
# optionally, the stock darknet CLI.
#
# usage: sh bench/darknet.sh [STEPS]        (default 4 training steps per net)
#        NETS="tiny_gap:64 resnet18:224" THREADS=2 REF=1 TORCH=1 CLI=0 sh bench/darknet.sh
#
# For each cfg/NET.cfg at SIZE, batch 16, THREADS threads (default: every
# core):
#   onednn   a workflow of tests/mkslices data (about STEPS x 16 training
#            slices), `train` for one epoch (step_images_per_s: the
#            network's training steps alone, what PyTorch's figure is; and,
#            as "epoch", images_per_s: the whole epoch's steps with their
#            on-the-fly augmentation on one thread) and `evaluate` on every
#            slice (its images_per_s: the forward passes, first batch
#            excluded);
#   darknet  the same with backend = "darknet": Darknet's own layers with
#            our corrections and OpenBLAS (REF=0 leaves it out);
#   torch    bench/ref_torch.py with torchvision's model of the same family
#            (resnet18, resnet50; alexnet, vgg16, vgg19 for the _fc nets;
#            their feature layers + a GAP head for the _gap nets; none for the
#            tiny nets), 3 classes, the same batch and threads, STEPS steps
#            (TORCH=0 leaves it out);
#   cli      with CLI=1, bench/ref_darknet_cli.sh: the stock `darknet
#            classifier train` and `test` (minutes per VGG batch).
# Then the ratios onednn / darknet and onednn / torch, and the achieved
# GFLOP/s: images/s x the forward pass's floating-point operations (2 per
# multiply-add, the train stage's gflop_per_image metric), x3 for a
# training step (forward, backward data, backward weights), against the
# machine's peak as bench/fmapeak.c measures it (fused multiply-adds on the
# widest vectors, THREADS threads).
# Outputs under bench/out/darknet/.  On 2 cores the full default run
# (10 networks) takes about 40 minutes, most of it the reference backend
# and PyTorch on the VGGs.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${1:-4}
NETS=${NETS:-"tiny_gap:64 tiny_fc:64 alexnet_gap:224 alexnet_fc:224 vgg16_gap:224 vgg16_fc:224 vgg19_gap:224 \
vgg19_fc:224 resnet18:224 resnet50:224"}
THREADS=${THREADS:-$(nproc)}
REF=${REF:-1}
TORCH=${TORCH:-1}
CLI=${CLI:-0}
CLI_STEPS=${CLI_STEPS:-2}
BATCH=16
OUT=$ROOT/bench/out/darknet
SULCUS=$ROOT/build/sulcus
MKSLICES=$ROOT/build/mkslices

make -s -C "$ROOT" all build/mkslices build/fmapeak >/dev/null
mkdir -p "$OUT"

metric() {  # metric STAGE NAME
	"$SULCUS" query --csv "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key)
		WHERE e.stage = '$1' AND m.name = '$2' ORDER BY m.step DESC LIMIT 1" | sed -n 2p
}
num() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else printf "%.2f", a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
gflops() {  # gflops IMAGES_PER_S GFLOP_PER_IMAGE FACTOR
	awk -v r="$1" -v g="$2" -v f="$3" 'BEGIN { if (r == "" || g == "") print "-"; else printf "%.1f", r * g * f }'
}

# The machine: CPU, its vector extensions, its measured peak FP32 rate.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
isa=$(grep -m 1 -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')
peak_line=$("$ROOT/build/fmapeak" "$THREADS")
peak=$(printf '%s\n' "$peak_line" | sed -n 's/^fmapeak: \([0-9.]*\) GFLOP.*/\1/p')

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
	backends="onednn"
	[ "$REF" = 0 ] || backends="onednn darknet"
	{
		echo 'name = "bench-darknet";'
		echo 'stages = ('
		echo "  { id = \"data\"; kind = \"command\"; command = \"$MKSLICES {out} 5 $nsl $size 1\"; },"
		for be in $backends; do
			echo "  { id = \"train_$be\"; kind = \"train\"; inputs = [\"data\"];"
			echo "    params = { network = \"$ROOT/cfg/$net.cfg\"; size = $size; epochs = 1; batch = $BATCH;"
			echo "               learning_rate = 0.001; threads = $THREADS; backend = \"$be\"; }; },"
			echo "  { id = \"evaluate_$be\"; kind = \"evaluate\"; inputs = [\"train_$be\", \"data\"];"
			echo "    params = { split = \"all\"; batch = $BATCH; threads = $THREADS; backend = \"$be\"; }; },"
		done
		echo ');'
	} | sed '$!N;$s/},\n);/}\n);/;P;D' >"$work/wf.cfg"
	echo "bench/darknet.sh: $net at ${size}x$size: sulcus ($backends)" >&2
	(cd "$work" && "$SULCUS" run -q -j 1 wf.cfg >/dev/null)
	ours_train=$(cd "$work" && metric train_onednn step_images_per_s)
	ours_epoch=$(cd "$work" && metric train_onednn images_per_s)
	ours_infer=$(cd "$work" && metric evaluate_onednn images_per_s)
	gflop=$(cd "$work" && metric train_onednn gflop_per_image)
	ref_train=""
	ref_infer=""
	if [ "$REF" != 0 ]; then
		ref_train=$(cd "$work" && metric train_darknet step_images_per_s)
		ref_infer=$(cd "$work" && metric evaluate_darknet images_per_s)
	fi

	cli_train=""
	cli_infer=""
	if [ "$CLI" = 1 ]; then
		echo "bench/darknet.sh: $net: darknet CLI" >&2
		steps=$STEPS
		[ "$size" -le 96 ] || steps=$CLI_STEPS
		cli=$(sh "$ROOT/bench/ref_darknet_cli.sh" "$ROOT/cfg/$net.cfg" "$size" "$BATCH" "$steps" "$work/cli" \
			2>"$work/cli.err") || {
			sed 's/^/    /' "$work/cli.err" >&2
			cli=""
		}
		cli_train=$(printf '%s\n' "$cli" | sed -n 's/^darknet-cli train images\/s: //p')
		cli_infer=$(printf '%s\n' "$cli" | sed -n 's/^darknet-cli infer images\/s: //p')
	fi

	case $net in
	resnet18 | resnet50 | alexnet_gap | vgg16_gap | vgg19_gap) model=$net ;;
	alexnet_fc | vgg16_fc | vgg19_fc) model=${net%_fc} ;;
	*) model="" ;;
	esac
	torch_train=""
	torch_infer=""
	if [ -n "$model" ] && [ "$TORCH" != 0 ]; then
		echo "bench/darknet.sh: $net: torch $model" >&2
		t=$(python3 "$ROOT/bench/ref_torch.py" "$model" "$size" "$BATCH" "$STEPS" "$THREADS" 2>"$work/torch.err") || {
			sed 's/^/    /' "$work/torch.err" >&2
			t=""
		}
		torch_train=$(printf '%s\n' "$t" | sed -n 's/^torch train images\/s: //p')
		torch_infer=$(printf '%s\n' "$t" | sed -n 's/^torch infer images\/s: //p')
	fi
	for what in train infer; do
		if [ $what = train ]; then
			o=$ours_train e=$ours_epoch r=$ref_train t=$torch_train c=$cli_train f=3
		else
			o=$ours_infer e="" r=$ref_infer t=$torch_infer c=$cli_infer f=1
		fi
		g=$(gflops "$o" "$gflop" $f)
		rows="$rows$(printf '%-11s %4s  %s %8s %8s %8s %8s %8s  %7s %8s  %6s %5s' "$net" "$size" $what "$(num "$o")" \
			"$(num "$e")" "$(num "$r")" "$(num "$t")" "$(num "$c")" "$(ratio "$o" "$r")" "$(ratio "$o" "$t")" "$g" \
			"$(awk -v g="$g" -v p="$peak" 'BEGIN { if (g == "-") print "-"; else printf "%.0f%%", 100 * g / p }')")
"
	done
done

echo "CPU: $cpu_model, $(nproc) cores, ${isa% }; oneDNN dispatched to:" \
	"$(grep -h 'computed by onednn' "$OUT"/*/.sulcus/logs/*/*.log 2>/dev/null | sed -n 's/.*onednn (\(.*\))/\1/p' | head -n 1)"
echo "peak FP32, measured (bench/fmapeak.c): $peak_line"
echo "images/s, batch $BATCH, $THREADS threads.  train: the training steps alone (epoch: with the stage's"
echo "augmentation, on one thread); GFLOP/s counts a training step as 3 forward passes:"
printf '%-11s %4s  %5s %8s %8s %8s %8s %8s  %7s %8s  %6s %5s\n' net size "" onednn epoch darknet torch cli "vs dn" \
	"vs torch" GFLOP/s peak
printf '%s' "$rows"
