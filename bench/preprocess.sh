#!/bin/sh
# bench/preprocess.sh - bias_correct beside ITK's N4 and coregister beside
# elastix, on the same 1 mm volumes, from one run.
#
# sulcus's synth stage makes three subjects (one per group: ingest wants
# every class) on the full 181x217x181 1 mm grid, with a known bias field
# of 0.78-1.28 (log amplitude 0.25: the +-20-30% of a 3 T head scan), Rician
# noise of 2% of white matter and a known 3 degree / 3 mm misalignment of T2
# against T1.  Then, each on one core:
#   - bias_correct on the three T1 images, and ITK's N4 on the same images
#     with the same brain mask, run as ANTs' N4BiasFieldCorrection runs it
#     by default (bench/itk/n4bench.cxx, built here against Debian's ITK):
#     CPU seconds per volume (the whole command: read, correct, write the
#     corrected image and the field) and two accuracy measures that
#     n4bench computes for both alike: the white-matter coefficient of
#     variation after correction (the synthetic anatomy's own, with no field,
#     beside it) and the error of the estimated field against the true one
#     (mean absolute log-ratio inside the brain, after removing the global
#     scale, which no correction can know);
#   - coregister of T2 to T1 (uncorrected, as elastix gets them): CPU
#     seconds per pair, of the whole stage and of the registration alone
#     (its register_s_* metrics), and the mean residual displacement
#     against the true transform;
#   - elastix -p parameters_Rigid.txt on the same three pairs: the same.
# The residual of both is measured the same way here: the mean distance
# between where the estimated and the true transform send the points of a
# 5 mm grid inside a brain-sized ellipsoid (radii 70, 85, 70 mm).
#
# Needs (besides sulcus): elastix elastix-doc libinsighttoolkit5-dev cmake g++
# (apt-get install ...; the project itself needs none of them).
#
# usage: [REPEAT=3] sh bench/preprocess.sh
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SULCUS=${SULCUS:-$ROOT/sulcus}
OUT=$ROOT/bench/out/preprocess
mkdir -p "$OUT"
cd "$OUT"
[ -x "$SULCUS" ] || { echo "bench/preprocess.sh: build sulcus first (make)" >&2; exit 2; }
command -v elastix >/dev/null || { echo "bench/preprocess.sh: elastix not found (apt-get install elastix elastix-doc)" >&2; exit 2; }
PARAMS=/usr/share/doc/elastix/help/exampleinput/parameters_Rigid.txt.gz
[ -f "$PARAMS" ] || { echo "bench/preprocess.sh: $PARAMS not found (apt-get install elastix-doc)" >&2; exit 2; }
N4BENCH=$(sh "$ROOT/bench/itk/build.sh")/n4bench

cat >wf.cfg <<'CFG'
name = "bench-preprocess";
stages = (
  { id = "synth"; kind = "synth";
    params = { rrms = 1; spms = 1; hc = 1; matrix = "181x217x181"; noise = 0.02; bias = 0.25;
               misalign_deg = 3.0; misalign_mm = 3.0; seed = 7; }; },
  { id = "ingest"; kind = "ingest"; inputs = ["synth"]; },
  { id = "bias_correct"; kind = "bias_correct"; inputs = ["ingest"]; params = { modalities = "T1w"; }; },
  { id = "coregister"; kind = "coregister"; inputs = ["ingest", "synth"]; params = { moving = "T2w"; }; },
  # The same subjects without a bias field: the white-matter CoV that
  # anatomy and noise alone give (what a perfect correction leaves).
  { id = "synth0"; kind = "synth";
    params = { rrms = 1; spms = 1; hc = 1; matrix = "181x217x181"; noise = 0.02; bias = 0.0;
               misalign_deg = 3.0; misalign_mm = 3.0; seed = 7; }; },
  { id = "ingest0"; kind = "ingest"; inputs = ["synth0"]; },
  { id = "floor"; kind = "bias_correct"; inputs = ["ingest0"];
    params = { modalities = "T1w"; levels = 1; iterations = 1; }; }
);
CFG
# --force: measure these two afresh on every run of the benchmark.
"$SULCUS" run -q -j 1 --force bias_correct --force coregister wf.cfg

q() { "$SULCUS" query --csv "$1" | sed 1d; }
key() { q "SELECT cache_key FROM executions WHERE stage = '$1' ORDER BY id DESC LIMIT 1"; }
metric() { q "SELECT value FROM metrics WHERE cache_key = '$(key "$1")' AND name = '$2'"; }
cpu() { q "SELECT round(cpu_s, 2) FROM executions WHERE cache_key = '$(key "$1")' AND status = 'ran' ORDER BY id DESC LIMIT 1"; }
per() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", c / n }'; }

SYNTH=.sulcus/cache/$(key synth)/out
INGEST=.sulcus/cache/$(key ingest)/out
COREG=.sulcus/cache/$(key coregister)/out
params() {  # params FILE SUBJECT: the T2w row's rotation, translation and centre
	awk -F '\t' -v s="$2" '$1 == s && $2 == "T2w" { print $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$1"
}

# elastix on the same pairs (ITK works in LPS coordinates; converted below).
gunzip -c "$PARAMS" | sed 's/(WriteResultImage "true")/(WriteResultImage "false")/' >parameters_Rigid.txt
# coregister and elastix take turns, REPEAT times (CPU times here vary by
# 20-30% from one run to the next); each one's median of the rounds' means.
: >coregister.cpu
: >elastix.cpu
for round in $(seq "${REPEAT:-3}"); do
	[ "$round" = 1 ] || "$SULCUS" run -q -j 1 --force coregister wf.cfg
	cpu coregister >>coregister.cpu
	for s in sub-01 sub-02 sub-03; do
		rm -rf "elastix-$s" && mkdir "elastix-$s"
		/usr/bin/time -f "%U %S %e" -o "elastix-$s.time" elastix -threads 1 -f "$INGEST/$s/anat/${s}_T1w.nii.gz" \
			-m "$INGEST/$s/anat/${s}_T2w.nii.gz" -p parameters_Rigid.txt -out "elastix-$s" >"elastix-$s.log" 2>&1 ||
			{ echo "elastix failed: see $OUT/elastix-$s.log" >&2; exit 1; }
	done
	cat elastix-sub-0[123].time | awk '{ s += $1 + $2 } END { print s }' >>elastix.cpu
done
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
elastix_params() {  # elastix_params SUBJECT
	awk '/^\(TransformParameters / { gsub(/[()]/, ""); p = $2 " " $3 " " $4 " " $5 " " $6 " " $7 }
	     /^\(CenterOfRotationPoint / { gsub(/[()]/, ""); c = $2 " " $3 " " $4 }
	     /^\(ComputeZYX / { z = $2 }
	     END { print p, c, (z ~ /true/ ? 1 : 0) }' "elastix-$1/TransformParameters.0.txt"
}
ELX_CPU=$(per "$(median elastix.cpu)" 3)

# Mean displacement between two rigid transforms over the ellipsoid grid.
# sulcus/synth: x' = Rz Ry Rx (x - c) + c + t, degrees, RAS mm.
# elastix Euler: x' = R (x - c) + c + t, radians, LPS mm, R = Rz Rx Ry (or Rz Ry Rx with ComputeZYX).
residual() {
	awk -v a="$1" -v b="$2" -v lps="$3" '
	function rot(rx, ry, rz, zyx, R,   cx, sx, cy, sy, cz, sz) {
		cx = cos(rx); sx = sin(rx); cy = cos(ry); sy = sin(ry); cz = cos(rz); sz = sin(rz)
		if (zyx) {   # Rz Ry Rx
			R[0,0] = cz*cy; R[0,1] = cz*sy*sx - sz*cx; R[0,2] = cz*sy*cx + sz*sx
			R[1,0] = sz*cy; R[1,1] = sz*sy*sx + cz*cx; R[1,2] = sz*sy*cx - cz*sx
			R[2,0] = -sy;   R[2,1] = cy*sx;            R[2,2] = cy*cx
		} else {     # Rz Rx Ry (ITK Euler3DTransform default)
			R[0,0] = cz*cy - sz*sx*sy; R[0,1] = -sz*cx; R[0,2] = cz*sy + sz*sx*cy
			R[1,0] = sz*cy + cz*sx*sy; R[1,1] = cz*cx;  R[1,2] = sz*sy - cz*sx*cy
			R[2,0] = -cx*sy;           R[2,1] = sx;     R[2,2] = cx*cy
		}
	}
	function apply(p, R, x, y, f,   i, d, xx) {
		# f: flip x and y (RAS <-> LPS) around the transform
		xx[0] = f ? -x[0] : x[0]; xx[1] = f ? -x[1] : x[1]; xx[2] = x[2]
		for (i = 0; i < 3; i++) d[i] = xx[i] - p[6 + i]
		for (i = 0; i < 3; i++) y[i] = R[i,0]*d[0] + R[i,1]*d[1] + R[i,2]*d[2] + p[6 + i] + p[3 + i]
		if (f) { y[0] = -y[0]; y[1] = -y[1] }
	}
	BEGIN {
		pi = atan2(0, -1)
		split(a, A, " "); split(b, B, " ")
		for (i = 0; i < 9; i++) { pa[i] = A[i + 1]; pb[i] = B[i + 1] }
		for (i = 0; i < 3; i++) pa[i] *= pi / 180
		if (lps) zyx = B[10]; else for (i = 0; i < 3; i++) pb[i] *= pi / 180
		rot(pa[0], pa[1], pa[2], 1, RA)
		rot(pb[0], pb[1], pb[2], lps ? zyx : 1, RB)
		for (X = -70; X <= 70; X += 5) for (Y = -85; Y <= 85; Y += 5) for (Z = -70; Z <= 70; Z += 5) {
			if ((X/70)^2 + (Y/85)^2 + (Z/70)^2 > 1) continue
			x[0] = pa[6] + X; x[1] = pa[7] + Y; x[2] = pa[8] + Z
			apply(pa, RA, x, ya, 0); apply(pb, RB, x, yb, lps)
			s += sqrt((ya[0]-yb[0])^2 + (ya[1]-yb[1])^2 + (ya[2]-yb[2])^2); n++
		}
		printf "%.3f", s / n
	}'
}

# ITK's N4 on the same T1 images and masks.
BIAS=.sulcus/cache/$(key bias_correct)/out
INGEST0=.sulcus/cache/$(key ingest0)/out
for s in sub-01 sub-02 sub-03; do
	/usr/bin/time -f "%U %S %e" -o "n4-$s.time" "$N4BENCH" n4 "$INGEST/$s/anat/${s}_T1w.nii.gz" \
		"$SYNTH/derivatives/synth/$s/${s}_brain.nii.gz" "n4-${s}_T1w.nii.gz" "n4-${s}_T1w_biasfield.nii.gz" \
		>"n4-$s.log" 2>&1 || { echo "N4 failed: see $OUT/n4-$s.log" >&2; exit 1; }
done
N4_CPU=$(cat n4-sub-0[123].time | awk '{ s += $1 + $2 } END { printf "%.2f", s / NR }')
N4_CORE=$(cat n4-sub-0[123].log | awk '$1 == "n4_cpu_s" { s += $2; n++ } END { printf "%.2f", s / n }')

# The accuracy measures, computed by one program for both corrections.
measure() {  # measure FIELD_PATTERN (with SUB for the subject): mean of each measure over the subjects
	for s in sub-01 sub-02 sub-03; do
		d=$SYNTH/derivatives/synth/$s
		"$N4BENCH" measure "$INGEST/$s/anat/${s}_T1w.nii.gz" "$(echo "$1" | sed "s/SUB/$s/g")" \
			"$d/${s}_T1w_biasfield.nii.gz" "$d/${s}_brain.nii.gz" "$d/${s}_wm.nii.gz" || exit 1
	done | awk '{ s[$1] += $2; n[$1]++ } END { printf "%.3f %.3f %.3f", s["wm_cov_before"] / n["wm_cov_before"],
		s["wm_cov_after"] / n["wm_cov_after"], s["field_error"] / n["field_error"] }'
}
set -- $(measure "$BIAS/SUB/SUB_T1w_biasfield.nii.gz")
OURS_BEFORE=$1 OURS_AFTER=$2 OURS_ERR=$3
set -- $(measure "n4-SUB_T1w_biasfield.nii.gz")
N4_AFTER=$2 N4_ERR=$3
FLOOR=$(for s in sub-01 sub-02 sub-03; do metric floor "wm_cov_${s}_T1w_before"; done |
	awk '{ s += $1 } END { printf "%.3f", s / NR }')

# Mean residual over the three pairs, for both.
ours_res=0
elx_res=0
for s in sub-01 sub-02 sub-03; do
	ours_res="$ours_res + $(residual "$(params "$SYNTH/derivatives/synth/transforms.tsv" $s)" "$(params "$COREG/transforms.tsv" $s)" 0)"
	elx_res="$elx_res + $(residual "$(params "$SYNTH/derivatives/synth/transforms.tsv" $s)" "$(elastix_params $s)" 1)"
done
mean3() { awk "BEGIN { printf \"%.3f\", ($1) / 3 }"; }
reg_s=$(q "SELECT avg(value) FROM metrics WHERE cache_key = '$(key coregister)' AND name LIKE 'register_s_%'")
BC_CPU=$(per "$(cpu bias_correct)" 3)
CR_CPU=$(per "$(median coregister.cpu)" 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

echo
echo "1 mm synthetic subjects, 181x217x181, one core ($(nproc) on the machine); means over the 3 subjects:"
echo
printf "%-40s %8s   %-22s %s\n" "bias field 0.78-1.28, noise 2%" "cpu s" "WM CoV before -> after" "field error"
printf "%-40s %8s   %-22s %s\n" "bias_correct (per volume)" "$BC_CPU" "$OURS_BEFORE -> $OURS_AFTER" "$OURS_ERR"
printf "%-40s %8s   %-22s %s\n" "ITK N4, ANTs' defaults (per volume)" "$N4_CPU" "$OURS_BEFORE -> $N4_AFTER" "$N4_ERR"
printf "%-40s %8s\n" "  of which N4 itself" "$N4_CORE"
printf "%-40s %8s   %-22s %s\n" "(the same subjects with no bias field)" "" "$FLOOR" "0"
echo "bias_correct is $(ratio "$N4_CPU" "$BC_CPU") faster than N4 (whole commands: read, correct, write image and field)"
echo
printf "%-40s %8s   %s\n" "T2 -> T1, 3 degrees and 3 mm, median of ${REPEAT:-3}" "cpu s" "residual"
printf "%-40s %8s   %s\n" "coregister, whole stage (per pair)" "$CR_CPU" "$(mean3 "$ours_res") mm"
printf "%-40s %8s\n" "  of which the registration itself" "$(printf '%.2f' "$reg_s")"
printf "%-40s %8s   %s\n" "elastix parameters_Rigid.txt (per pair)" "$ELX_CPU" "$(mean3 "$elx_res") mm"
echo "coregister is $(ratio "$ELX_CPU" "$CR_CPU") faster than elastix (the whole stage reads the two images and the brain"
echo "mask, registers, resamples and writes the result; elastix reads the two images and registers: WriteResultImage is off)"
