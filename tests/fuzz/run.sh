#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS - runs each libFuzzer target of
# tests/fuzz/ for SECONDS (make fuzz).  Corpora live in BUILD/corpus/NAME
# (kept between runs, seeded on the first one), crashes in BUILD/crashes/.
# Exits 1 when a target found a crash, a leak or undefined behaviour.
set -eu

BUILD=$1
SECONDS_EACH=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$BUILD/crashes"

seed() {  # seed NAME: fills BUILD/corpus/NAME on the first run
	dir=$BUILD/corpus/$1
	[ -d "$dir" ] && return 0
	mkdir -p "$dir"
	case $1 in
	workflow)
		for f in "$ROOT"/workflows/*.cfg "$ROOT"/db/report-generic.cfg; do
			cp "$f" "$dir/$(basename "$f")"
		done
		# With --set arguments before the NUL.
		printf 'train_tiny_gap.epochs=40\nparams.seed=3\0' | cat - "$ROOT/workflows/demo.cfg" >"$dir/demo-set"
		;;
	images)
		n=0
		for f in /usr/share/mricron/templates/JHU-WhiteMatter-labels-2mm.nii.gz \
			/usr/share/mricron/templates/AICHAmc.nii.gz; do
			n=$((n + 1))
			{ printf '\001'; cat "$f"; } >"$dir/gz$n"
			{ printf '\000'; gzip -dc "$f" | head -c 65536; } >"$dir/raw$n"
		done
		mkdir -p "$BUILD/slices"
		"$BUILD/mkslices" "$BUILD/slices" 2 2 16 1 >/dev/null
		for f in $(find "$BUILD/slices" -name '*.png' | head -n 3); do
			n=$((n + 1))
			{ printf '\002'; cat "$f"; } >"$dir/png$n"
		done
		;;
	esac
}

# libconfig 1.5 leaks its string buffer on some parse errors (fixed in 1.7):
# not ours to fix, and not to be reported on every run.
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp"
status=0
for name in workflow images; do
	seed "$name"
	echo "fuzz_$name: $SECONDS_EACH s"
	"$BUILD/fuzz_$name" -max_total_time="$SECONDS_EACH" -max_len=262144 -rss_limit_mb=4096 \
		-artifact_prefix="$BUILD/crashes/$name-" -print_final_stats=1 "$BUILD/corpus/$name" \
		2>"$BUILD/fuzz_$name.log" || { status=1; tail -n 40 "$BUILD/fuzz_$name.log"; }
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$BUILD/fuzz_$name.log" || true
done
exit $status
