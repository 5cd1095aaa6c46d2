#!/bin/sh
# bench/atlas.sh - the `atlas` stage beside elastix: the Colin27 template
# registered to each of 6 synthetic 1 mm subjects, affine and then
# non-linear (B-spline, 10 mm control points), and its lobes warped onto
# the subject, scored against synth's true lobes.
#
# For each subject, one core each:
#   - sulcus's atlas stage: CPU seconds of the registration (its
#     register_s_* timings: affine and B-spline together) and of the whole
#     stage per subject (which also loads the template once, warps three
#     label maps and writes them with the warp);
#   - elastix with bench/elastix/affine.txt then bench/elastix/bspline.txt
#     (elastix's own examples: Mattes MI, adaptive stochastic gradient
#     descent, 4 resolutions; B-spline to a 10 mm grid) on the same template
#     and T1, then transformix with nearest-neighbour interpolation on the
#     same template lobes (template/lobes.nii.gz of the atlas stage), once
#     through the affine alone and once through both;
#   - the lobe Dice of both against the truth, and with no registration at
#     all, computed by one program (bench/itk/labeldice.cxx) for all.
#
# Needs (besides sulcus): elastix libinsighttoolkit5-dev cmake g++.
#
# usage: sh bench/atlas.sh
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SULCUS=${SULCUS:-$ROOT/sulcus}
OUT=$ROOT/bench/out/atlas
mkdir -p "$OUT"
cd "$OUT"
[ -x "$SULCUS" ] || { echo "bench/atlas.sh: build sulcus first (make)" >&2; exit 2; }
command -v elastix >/dev/null && command -v transformix >/dev/null ||
	{ echo "bench/atlas.sh: elastix not found (apt-get install elastix)" >&2; exit 2; }
DICE=$(sh "$ROOT/bench/itk/build.sh")/labeldice

# Two cohorts of 6: synth's default (each subject the template with a size
# change and one gentle warp of the whole head) and one with the local
# differences real heads have (deform_mm 6 at wavelengths of 40-80 mm:
# points move 5-6 mm on average, up to about 17 mm, never folding).
cat >wf.cfg <<'CFG'
name = "bench-atlas";
stages = (
  { id = "synth_default"; kind = "synth"; params = { rrms = 2; spms = 2; hc = 2; matrix = "181x217x181"; seed = 11; }; },
  { id = "synth_local"; kind = "synth";
    params = { rrms = 2; spms = 2; hc = 2; matrix = "181x217x181"; seed = 11; deform_mm = 6.0; deform_wavelength_mm = 40.0; }; },
  { id = "ingest_{c}"; kind = "ingest"; foreach = { c = ["default", "local"]; }; inputs = ["synth_{c}"]; },
  { id = "atlas_{c}"; kind = "atlas"; foreach = { c = ["default", "local"]; }; inputs = ["ingest_{c}"]; }
);
CFG
"$SULCUS" run -q -j 1 --force 'atlas_*' wf.cfg

q() { "$SULCUS" query --csv "$1" | sed 1d; }
key() { q "SELECT cache_key FROM executions WHERE stage = '$1' ORDER BY id DESC LIMIT 1"; }
T=/usr/share/mricron/templates

labels() {  # labels DIR N: transformix of the template lobes through DIR/TransformParameters.N.txt
	sed -e 's/(FinalBSplineInterpolationOrder .*)/(FinalBSplineInterpolationOrder 0)/' \
		-e 's/(ResultImagePixelType .*)/(ResultImagePixelType "unsigned char")/' \
		"$1/TransformParameters.$2.txt" >"$1/labels.$2.txt"
	if [ "$2" = 1 ]; then  # its initial transform: the affine, as it stands
		sed -i "s|(InitialTransformParametersFileName .*)|(InitialTransformParametersFileName \"$1/TransformParameters.0.txt\")|" \
			"$1/labels.1.txt"
	fi
	mkdir -p "$1/out.$2"
	transformix -threads 1 -in "$ATLAS/template/lobes.nii.gz" -tp "$1/labels.$2.txt" -out "$1/out.$2" \
		>"$1/transformix.$2.log" 2>&1 || { echo "transformix failed: see $OUT/$1/transformix.$2.log" >&2; exit 1; }
}

cohort() {  # cohort NAME: registers, warps and scores its subjects; prints its table
	INGEST=.sulcus/cache/$(key "ingest_$1")/out
	ATLAS=.sulcus/cache/$(key "atlas_$1")/out
	: >"dice-$1.tsv"
	for s in $(awk -F '\t' 'NR > 1 { print $1 }' "$INGEST/subjects.tsv"); do
		e=elx-$1-$s
		rm -rf "$e" && mkdir "$e"
		/usr/bin/time -f "%U %S" -o "$e.time" elastix -threads 1 -f "$INGEST/$s/anat/${s}_T1w.nii.gz" \
			-m $T/ch2.nii.gz -p "$ROOT/bench/elastix/affine.txt" -p "$ROOT/bench/elastix/bspline.txt" \
			-out "$e" >"$e.log" 2>&1 || { echo "elastix failed: see $OUT/$e.log" >&2; exit 1; }
		labels "$e" 0
		labels "$e" 1
		truth=$INGEST/derivatives/synth/$s/${s}_lobes.nii.gz
		d() { "$DICE" "$1" "$truth" 1 2 3 4 | awk '$1 == "dice_mean" { print $2 }'; }
		ours=$(d "$ATLAS/atlas/$s/${s}_lobes.nii.gz")
		elx_a=$(d "$e/out.0/result.nii.gz")
		elx_b=$(d "$e/out.1/result.nii.gz")
		row=$(q "SELECT dice_lobes_none, dice_lobes_affine, register_s FROM atlas_quality
			WHERE cache_key = '$(key "atlas_$1")' AND subject = '$s'" | tr ',' '\t')
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$row" "$ours" "$elx_a" "$elx_b" "$(awk '{ print $1 + $2 }' "$e.time")" \
			>>"dice-$1.tsv"
	done
	n=$(wc -l <"dice-$1.tsv" | tr -d ' ')
	stage_cpu=$(q "SELECT round(cpu_s / $n, 2) FROM executions WHERE cache_key = '$(key "atlas_$1")' AND status = 'ran'
		ORDER BY id DESC LIMIT 1")
	echo
	echo "cohort '$1': Colin27 (whole head) to $n synthetic 1 mm subjects (181x217x181), one core; lobe Dice:"
	printf "%-8s %6s %14s %14s %14s %14s %9s %9s\n" subject none "sulcus affine" "elastix affine" "sulcus warp" \
		"elastix warp" "sulcus s" "elastix s"
	# columns: subject none sulcus_affine register_s sulcus_warp elastix_affine elastix_warp elastix_s
	awk -F '\t' '{ printf "%-8s %6.3f %14.3f %14.3f %14.3f %14.3f %9.2f %9.2f\n", $1, $2, $3, $6, $5, $7, $4, $8 }' \
		"dice-$1.tsv"
	awk -F '\t' -v c="$stage_cpu" '{ a += $2; b += $3; r += $4; w += $5; ea += $6; ew += $7; x += $8 }
		END { printf "%-8s %6.3f %14.3f %14.3f %14.3f %14.3f %9.2f %9.2f\n", "mean", a / NR, b / NR, ea / NR,
			      w / NR, ew / NR, r / NR, x / NR
		      printf "(registration, affine and B-spline together: sulcus %.1fx faster than elastix; the atlas stage as a whole %.2f s per subject)\n",
			      x / r, c }' "dice-$1.tsv"
}
cohort default
cohort local
echo
echo "(lobe Dice: the mean over frontal, temporal, parietal and occipital against the true lobes of synth;"
echo " the whole stage also loads the template once, warps three label maps and writes them)"
