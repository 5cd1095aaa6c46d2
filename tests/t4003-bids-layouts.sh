#!/bin/sh
# t4003-bids-layouts: a user's own BIDS folder as it is found, built here
# from the synthetic cohort in the layout of the BIDS specification's
# longitudinal examples: two sessions per participant, two runs of T2w in
# one, a 3-D FLAIR acquisition beside the default one, JSON sidecars at the
# dataset and image levels, derivatives per session, and a participants.tsv
# with Windows line ends, quotes, n/a and the group column under another
# name.  ingest keeps every session as a row (session = "all"); the chain
# runs through split, which must keep both sessions of a participant in the
# same split; the choices ingest made are in the database.  Then the
# problems of a broken copy are listed all at once, and missing = "drop"
# leaves the broken participant out and says so.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 600

[ -f /usr/share/mricron/templates/ch2.nii.gz ] || skip "mricron-data not installed (make deps installs it)"

cat >synth.cfg <<'CFG'
name = "synth-only";
stages = ( { id = "synth"; kind = "synth"; params = { rrms = 2; spms = 2; hc = 2; matrix = "48x56x44"; seed = 5; }; } );
CFG
run_ok "$SULCUS" run synth.cfg
src=.sulcus/cache/$(sql_value "SELECT cache_key FROM executions WHERE stage = 'synth'")/out

# The longitudinal layout: ses-1 and ses-2 (the same scans: enough to
# check the bookkeeping), derivatives beside them.
mk() { mkdir -p "$(dirname "$1")" && cp "$2" "$1"; }
printf 'participant_id\tdiagnosis\tage\r\n' >bids.participants
for s in $(awk -F '\t' 'NR > 1 { print $1 }' "$src/participants.tsv"); do
	g=$(awk -F '\t' -v s="$s" '$1 == s { print $2 }' "$src/participants.tsv")
	printf '%s\t"%s"\tn/a\r\n' "$s" "$g" >>bids.participants
	for ses in 1 2; do
		a=bids/$s/ses-$ses/anat
		for m in T1w T2w FLAIR; do
			mk "$a/${s}_ses-${ses}_$m.nii.gz" "$src/$s/anat/${s}_$m.nii.gz"
		done
		for d in brain wm lesions lobes; do
			mk "bids/derivatives/synth/$s/ses-$ses/anat/${s}_ses-${ses}_$d.nii.gz" \
				"$src/derivatives/synth/$s/${s}_$d.nii.gz"
		done
	done
	# Two runs of T2w in ses-2 (the last is kept), a 3-D FLAIR beside the default.
	mv "bids/$s/ses-2/anat/${s}_ses-2_T2w.nii.gz" "bids/$s/ses-2/anat/${s}_ses-2_run-2_T2w.nii.gz"
	cp "bids/$s/ses-2/anat/${s}_ses-2_run-2_T2w.nii.gz" "bids/$s/ses-2/anat/${s}_ses-2_run-1_T2w.nii.gz"
	cp "bids/$s/ses-1/anat/${s}_ses-1_FLAIR.nii.gz" "bids/$s/ses-1/anat/${s}_ses-1_acq-3d_FLAIR.nii.gz"
done
mv bids.participants bids/participants.tsv
printf '{"Name": "longitudinal MS, synthetic", "BIDSVersion": "1.8.0", "DatasetType": "raw"}\n' \
	>bids/dataset_description.json
printf '{"MagneticFieldStrength": 3, "Manufacturer": "Siemens", "RepetitionTime": 2.3}\n' >bids/T1w.json
printf '{"MagneticFieldStrength": 1.5}\n' >bids/sub-01/ses-1/anat/sub-01_ses-1_T1w.json

cat >wf.cfg <<'CFG'
name = "bids-longitudinal";
stages = (
  { id = "ingest"; kind = "ingest";
    params = { bids = "bids"; session = "all"; group_column = "diagnosis"; }; },
  { id = "coreg"; kind = "coregister"; inputs = ["ingest"]; params = { levels = 2; }; },
  { id = "slices"; kind = "slices"; inputs = ["coreg"]; params = { keep = 10; size = 48; }; },
  { id = "split"; kind = "split"; inputs = ["slices"]; params = { table = "index.tsv"; train = 0.5; val = 0.0; test = 0.5; }; }
);
CFG
run_ok "$SULCUS" run wf.cfg
for s in ingest coreg slices split; do assert_ran "$s"; done

out=.sulcus/cache/$(sql_value "SELECT cache_key FROM executions WHERE stage = 'ingest' AND run_id = 2")/out
assert_eq 13 "$(wc -l <"$out/subjects.tsv" | tr -d ' ')" "subjects.tsv lines (header + 6 participants x 2 sessions)"
row=$(awk -F '\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } $1 == "sub-01_ses-2" {
	print $c["participant"], $c["session"], $c["T2w"], $c["FLAIR"], $c["field_strength_t"] }' "$out/subjects.tsv")
assert_eq "sub-01 2 sub-01/ses-2/anat/sub-01_ses-2_run-2_T2w.nii.gz sub-01/ses-2/anat/sub-01_ses-2_FLAIR.nii.gz 3" \
	"$row" "sub-01's second session (the last run; the dataset's field strength)"
assert_eq "1.5" "$(sql_value "SELECT field_strength_t FROM bids_images WHERE subject = 'sub-01_ses-1' AND modality = 'T1w'")" \
	"field strength from the image's own sidecar"
assert_eq "sub-01/ses-1/anat/sub-01_ses-1_FLAIR.nii.gz|the default acquisition; 2 FLAIR images found" \
	"$(sql_value "SELECT path || '|' || chosen_by FROM bids_images WHERE subject = 'sub-01_ses-1' AND modality = 'FLAIR'")" \
	"FLAIR chosen over the 3-D acquisition"
assert_eq "36" "$(sql_value "SELECT count(*) FROM bids_images")" "images recorded (12 rows x 3)"
assert_eq "longitudinal MS, synthetic|1.8.0" "$(sql_value "SELECT name || '|' || bids_version FROM bids_dataset")" \
	"dataset_description.json"
assert_eq "6|1,2" "$(sql_value "SELECT count(*) || '|' || min(sessions_used) FROM bids_participants WHERE status = 'used'")" \
	"participants used, with both sessions"

# No participant's sessions in two splits, and both sessions of each are there.
sp=.sulcus/cache/$(sql_value "SELECT cache_key FROM executions WHERE stage = 'split' AND run_id = 2")/out/split.tsv
leaks=$(awk -F '\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ s[$c["participant"] "|" $c["split"]] = 1; ses[$c["participant"] "|" $c["subject"]] = 1 }
	END { for (k in s) { split(k, a, "|"); n[a[1]]++ } for (x in n) if (n[x] > 1) bad++;
	      for (k in ses) { split(k, a, "|"); m[a[1]]++ } for (x in m) if (m[x] != 2) bad++; print bad + 0 }' "$sp")
assert_eq 0 "$leaks" "participants in two splits, or without both sessions"

# A broken copy: every problem at once, then dropped on request.
rm bids/sub-02/ses-2/anat/sub-02_ses-2_FLAIR.nii.gz
head -c 300 bids/sub-03/ses-1/anat/sub-03_ses-1_T1w.nii.gz >t1 && mv t1 bids/sub-03/ses-1/anat/sub-03_ses-1_T1w.nii.gz
printf '{"MagneticFieldStrength": 3,' >bids/sub-05/ses-1/anat/sub-05_ses-1_T2w.json
run_fail_msg 1 "3 problems in the BIDS folder" "$SULCUS" run wf.cfg
log=$(sql_value "SELECT log_path FROM executions WHERE stage = 'ingest' ORDER BY id DESC LIMIT 1")
assert_file_contains "$log" "participant 'sub-02' session 2: FLAIR image: no FLAIR image in sub-02/ses-2/anat"
assert_file_contains "$log" "sub-03_ses-1_T1w.nii.gz': not a readable NIfTI image"
assert_file_contains "$log" "sub-05_ses-1_T2w.json: not a valid JSON object"
run_ok "$SULCUS" run --set ingest.missing=drop wf.cfg
assert_eq "3" "$(sql_value "SELECT CAST(value AS INTEGER) FROM metrics m JOIN latest_executions e USING (cache_key)
	WHERE e.stage = 'ingest' AND m.name = 'subjects_dropped'")" "participants dropped"
assert_eq "sub-02,sub-03,sub-05" "$(sql_value "SELECT group_concat(participant) FROM (SELECT participant FROM bids_participants
	WHERE status = 'dropped' AND cache_key = (SELECT cache_key FROM latest_executions WHERE stage = 'ingest') ORDER BY 1)")" \
	"the dropped participants"
