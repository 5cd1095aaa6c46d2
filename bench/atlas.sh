#!/bin/sh
# bench/atlas.sh - the `atlas` stage beside elastix: the Colin27 template
# registered (affine) to each of 6 synthetic 1 mm subjects, and its lobes
# warped onto the subject, scored against synth's true lobes.
#
# For each subject, one core each:
#   - sulcus's atlas stage: CPU seconds of the registration (its
#     register_s_* timings) and of the whole stage per subject (which also
#     loads the template once, warps three label maps and writes them);
#   - elastix with bench/elastix/affine.txt (elastix's own affine example:
#     Mattes MI, adaptive stochastic gradient descent, 4 resolutions) on the
#     same template and T1, then transformix with nearest-neighbour
#     interpolation on the same template lobes (template/lobes.nii.gz of the
#     atlas stage);
#   - the lobe Dice of both against the truth, and with no registration at
#     all, computed by one program (bench/itk/labeldice.cxx) for all three.
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

cohort() {  # cohort NAME: registers, warps and scores its subjects; prints its table
	INGEST=.sulcus/cache/$(key "ingest_$1")/out
	ATLAS=.sulcus/cache/$(key "atlas_$1")/out
	: >"dice-$1.tsv"
	for s in $(awk -F '\t' 'NR > 1 { print $1 }' "$INGEST/subjects.tsv"); do
		e=elx-$1-$s
		rm -rf "$e" && mkdir "$e"
		/usr/bin/time -f "%U %S" -o "$e.time" elastix -threads 1 -f "$INGEST/$s/anat/${s}_T1w.nii.gz" \
			-m $T/ch2.nii.gz -p "$ROOT/bench/elastix/affine.txt" -out "$e" >"$e.log" 2>&1 ||
			{ echo "elastix failed: see $OUT/$e.log" >&2; exit 1; }
		# Labels: nearest neighbour, bytes.
		sed -e 's/(FinalBSplineInterpolationOrder .*)/(FinalBSplineInterpolationOrder 0)/' \
			-e 's/(ResultImagePixelType .*)/(ResultImagePixelType "unsigned char")/' \
			"$e/TransformParameters.0.txt" >"$e/labels.txt"
		transformix -threads 1 -in "$ATLAS/template/lobes.nii.gz" -tp "$e/labels.txt" -out "$e" \
			>"$e/transformix.log" 2>&1 || { echo "transformix failed: see $OUT/$e/transformix.log" >&2; exit 1; }
		truth=$INGEST/derivatives/synth/$s/${s}_lobes.nii.gz
		ours=$("$DICE" "$ATLAS/atlas/$s/${s}_lobes.nii.gz" "$truth" 1 2 3 4 | awk '$1 == "dice_mean" { print $2 }')
		elx=$("$DICE" "$e/result.nii.gz" "$truth" 1 2 3 4 | awk '$1 == "dice_mean" { print $2 }')
		none=$(q "SELECT dice_lobes_none FROM atlas_quality WHERE cache_key = '$(key "atlas_$1")' AND subject = '$s'")
		reg=$(q "SELECT register_s FROM atlas_quality WHERE cache_key = '$(key "atlas_$1")' AND subject = '$s'")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$none" "$ours" "$elx" "$reg" "$(awk '{ print $1 + $2 }' "$e.time")" \
			>>"dice-$1.tsv"
	done
	n=$(wc -l <"dice-$1.tsv" | tr -d ' ')
	stage_cpu=$(q "SELECT round(cpu_s / $n, 2) FROM executions WHERE cache_key = '$(key "atlas_$1")' AND status = 'ran'
		ORDER BY id DESC LIMIT 1")
	echo
	echo "cohort '$1': Colin27 (whole head) to $n synthetic 1 mm subjects (181x217x181), affine, one core:"
	printf "%-8s %12s %12s %12s %12s %12s\n" subject "Dice none" "Dice sulcus" "Dice elastix" "sulcus s" "elastix s"
	awk -F '\t' '{ printf "%-8s %12.3f %12.3f %12.3f %12.2f %12.2f\n", $1, $2, $3, $4, $5, $6 }' "dice-$1.tsv"
	awk -F '\t' -v c="$stage_cpu" '{ a += $2; b += $3; e += $4; r += $5; x += $6 }
		END { printf "%-8s %12.3f %12.3f %12.3f %12.2f %12.2f\n", "mean", a / NR, b / NR, e / NR, r / NR, x / NR
		      printf "(the registration %.1fx faster than elastix; the atlas stage as a whole %.2f s per subject)\n",
			      x / r, c }' "dice-$1.tsv"
}
cohort default
cohort local
echo
echo "(lobe Dice: the mean over frontal, temporal, parietal and occipital against the true lobes of synth;"
echo " the whole stage also loads the template once, warps three label maps and writes them)"
