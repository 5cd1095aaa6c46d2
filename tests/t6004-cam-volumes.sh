#!/bin/sh
# t6004-cam-volumes: heatmaps on the synthetic cohort go back into each
# subject's T1 space: one NIfTI volume per subject and method, on the
# reference grid of the slices stage (same dimensions and sform as the T1),
# heat only on the slices that were explained, valid for nifti_tool with the
# qform equal to the sform; and the lobe statistics come from the cohort's
# AAL lobe labels (shares of the five lobes sum to 1, a chi-square test of
# peak lobe by group is reported).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 300

command -v nifti_tool >/dev/null || skip "nifti_tool not installed (make deps installs nifti-bin)"
[ -f /usr/share/mricron/templates/ch2.nii.gz ] || skip "mricron-data not installed (make deps installs it)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"
REPO=$(cd "$TESTS_DIR/.." && pwd)

cat >wf.cfg <<CFG
name = "cam-volumes";
stages = (
  { id = "synth"; kind = "synth"; params = { rrms = 2; spms = 2; hc = 2; matrix = "64x76x56"; seed = 3; }; },
  { id = "ingest"; kind = "ingest"; inputs = ["synth"]; },
  { id = "slices"; kind = "slices"; inputs = ["ingest"]; params = { keep = 20; size = 64; }; },
  { id = "split"; kind = "split"; inputs = ["slices"]; params = { table = "index.tsv"; train = 0.5; val = 0.0; test = 0.5; }; },
  { id = "train"; kind = "train"; inputs = ["split", "slices"];
    params = { network = "$REPO/cfg/tiny_gap.cfg"; epochs = 2; batch = 8; threads = 2; }; },
  { id = "cam"; kind = "cam"; inputs = ["train", "split", "slices"];
    params = { methods = "gradcam, cam"; curve_steps = 0; sanity = false; threads = 2; }; }
);
CFG
run_ok "$SULCUS" run wf.cfg
assert_ran cam

cam=.sulcus/cache/$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'cam'")/out
sl=.sulcus/cache/$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'slices'")/out
split=.sulcus/cache/$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'split'")/out/split.tsv
subjects=$(awk -F '\t' 'NR > 1 && $NF == "test" { print $1 }' "$split" | sort -u)
[ -n "$subjects" ] || fail "no test subjects"
hdr() { nifti_tool -disp_nim -field "$1" -infiles "$2" | awk 'NR > 1 { $1 = ""; $2 = ""; $3 = ""; print }'; }
for sub in $subjects; do
	for m in gradcam cam; do
		for kind in "" _raw; do
			v=$cam/volumes/$m/${sub}_predicted$kind.nii.gz
			[ -f "$v" ] || fail "no heatmap volume $v"
			nifti_tool -check_hdr -check_nim -infiles "$v" >/dev/null 2>&1 || fail "nifti_tool rejects $v"
			for f in dim sto_xyz qto_xyz; do
				assert_eq "$(hdr "$f" "$sl/ref/$sub.nii.gz")" "$(hdr "$f" "$v")" "$f of $v against the T1"
			done
		done
	done
	# Heat lies only on the slices that were explained, and on each of them.
	v=$cam/volumes/gradcam/${sub}_predicted.nii.gz
	kept=$(awk -F '\t' -v s="$sub" 'NR > 1 && $1 == s { print $2 }' "$split" | sort -n | tr '\n' ' ')
	hot=$(for k in $(seq 0 55); do
		s=$(nifti_tool -disp_ci -1 -1 "$k" 0 0 0 0 -infiles "$v" -quiet 2>/dev/null | tr ' ' '\n' | awk '$1 > 0 { n++ } END { print n + 0 }')
		[ "$s" -gt 0 ] && printf '%s ' "$k"
	done)
	assert_eq "$kept" "$hot" "slices of $sub holding heat"
done

# Lobe statistics from the AAL labels: the shares of one heatmap sum to 1.
bad=$(sql_value "SELECT count(*) FROM heatmaps h JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam'
                 AND applicable = 1 AND abs(share_frontal + share_temporal + share_parietal + share_occipital + share_other - 1) > 1e-4")
assert_eq 0 "$bad" "heatmaps whose lobe shares do not sum to 1"
n=$(sql_value "SELECT count(*) FROM heatmaps h JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam' AND peak_lobe IS NOT NULL AND lobe_source = 'labels'")
[ "$n" -gt 0 ] || fail "no heatmap has a peak lobe"
df=$(sql_value "SELECT df FROM heatmap_tests t JOIN latest_executions e USING (cache_key) WHERE e.stage = 'cam'
                AND method = 'gradcam' AND name = 'chi2_peak_lobe_by_group'")
[ -n "$df" ] || fail "no chi-square test of peak lobe by group"
exit 0
