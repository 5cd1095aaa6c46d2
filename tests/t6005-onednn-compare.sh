#!/bin/sh
# t6005-onednn-compare: the oneDNN backend against Darknet's own layers
# (the reference) on the same weights and inputs, through tests/dncompare.c
# (--backends: forward within 1e-4, Grad-CAM maps and every gradient within
# 1e-3, or 1e-2 in L2 at units within rounding of a kink, training, bit-
# identical retraining).  Networks: two generated ones that hold every
# shape the backend handles differently (odd sizes, strides 2 and 3,
# Darknet's asymmetric max-pool padding, even kernels, 1x1 with stride 2,
# channel counts that are not a multiple of oneDNN's block, shortcuts of
# equal and of different shapes with alpha and beta, batchnorm in a
# connected layer, dropout) and a third whose 11x11/4 first layer takes
# oneDNN's planar GEMM convolution, at batch 16 and 1; the demo's networks at batch
# 16; every study network of cfg/ at 64x64, batch 1 (batch 16 costs
# minutes on the reference path: bench/darknet.sh runs them there).  Under
# AddressSanitizer the study networks are left out: the paths they take are
# the generated networks' own.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 600

[ -n "${DNCOMPARE:-}" ] || skip "DNCOMPARE not set (run through make integration)"
REPO=$(cd "$TESTS_DIR/.." && pwd)

cat >odd.cfg <<'CFG'
[net]
batch=16
width=67
height=67
channels=3
momentum=0.9
decay=0.0005
[convolutional]
batch_normalize=1
filters=12
size=3
stride=1
pad=1
activation=leaky
[convolutional]
batch_normalize=1
filters=20
size=5
stride=2
padding=2
activation=leaky
[maxpool]
size=3
stride=2
[convolutional]
batch_normalize=1
filters=20
size=1
stride=1
pad=0
activation=linear
[shortcut]
from=-2
activation=leaky
[convolutional]
batch_normalize=1
filters=24
size=1
stride=2
pad=0
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=16
size=3
stride=3
pad=1
activation=leaky
[convolutional]
filters=16
size=2
stride=1
pad=1
activation=linear
[avgpool]
[connected]
batch_normalize=1
output=10
activation=leaky
[dropout]
probability=0.3
[connected]
output=3
activation=linear
[softmax]
CFG

cat >res.cfg <<'CFG'
[net]
batch=16
width=33
height=33
channels=3
momentum=0.9
decay=0.0005
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky
[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=linear
[shortcut]
from=-3
activation=leaky
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=relu
[convolutional]
filters=8
size=3
stride=1
pad=1
activation=leaky
[shortcut]
from=-3
alpha=0.5
beta=2
activation=linear
[maxpool]
size=3
stride=1
[convolutional]
filters=6
size=3
stride=1
pad=1
activation=leaky
[connected]
output=12
activation=leaky
[connected]
output=3
activation=linear
[softmax]
CFG

# A first layer that oneDNN has only reference code for in the blocked
# layout (AlexNet's 11x11/4 on planar input): its GEMM convolution, then a
# reorder (with batchnorm after it), and one without batchnorm.
cat >wide.cfg <<'CFG'
[net]
batch=16
width=59
height=59
channels=3
momentum=0.9
decay=0.0005
[convolutional]
batch_normalize=1
filters=24
size=11
stride=4
padding=2
activation=leaky
[maxpool]
size=3
stride=2
padding=0
[convolutional]
filters=20
size=3
stride=1
pad=1
activation=leaky
[avgpool]
[connected]
output=3
activation=linear
[softmax]
CFG
sed -e '/^batch_normalize=1$/d' wide.cfg >wide_nobn.cfg

# Batch 1: a connected layer's batchnorm would divide by batch - 1.
for f in odd res wide; do
	sed -e 's/^batch=16/batch=1/' "$f.cfg" | awk '/^\[connected\]/ { c = 1 } /^batch_normalize/ && c { next } { print }' \
		>"${f}_1.cfg"
done
for net in tiny_gap tiny_fc; do
	cp "$REPO/cfg/$net.cfg" "$net.cfg"
done

compare() {  # compare BATCH CFG...
	run_ok "$DNCOMPARE" --backends "$@"
	assert_contains "$(cat "$OUT")" "dncompare: the two backends agree"
	# Each network really ran on oneDNN (not the fallback).
	for f in $(shift; echo "$@"); do
		grep -q "^$f: onednn (" "$OUT" || { cat "$OUT"; fail "$f: not run by the oneDNN backend"; }
	done
}

compare 16 odd.cfg res.cfg wide.cfg wide_nobn.cfg tiny_gap.cfg tiny_fc.cfg
compare 1 odd_1.cfg res_1.cfg wide_1.cfg

case $DNCOMPARE in
*/asan/*) exit 0 ;;
esac
study=""
for net in alexnet_gap alexnet_fc vgg16_gap vgg16_fc vgg19_gap vgg19_fc resnet18 resnet50; do
	sed -e 's/^batch=.*/batch=1/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
		"$REPO/cfg/$net.cfg" >"$net.cfg"
	study="$study $net.cfg"
done
# shellcheck disable=SC2086 # a list of files
compare 1 $study
