#!/bin/sh
# t7001-report: `sulcus report` on a small study (generated slices, two
# models trained, evaluated, ranked and explained).  Without a spec beside
# the workflow it draws the generic report (run, stages, metrics, curves,
# outputs).  With the study's spec (workflows/report.cfg) beside it,
# index.html holds every section of that spec with data in each, the
# montage's images are copied into img/ and the links reach the heatmap
# volumes; a report of a cached rerun still shows the results; a WORKFLOW
# argument finds the spec beside it; --run, --spec and bad SQL behave; a
# folder that is not a report is not written into; and headless Chromium
# renders the page from disk (DOM with the sections and images, a
# screenshot that is a real picture).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 300

[ -n "${MKSLICES:-}" ] || skip "MKSLICES not set (run through make integration)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"
command -v nifti_tool >/dev/null || skip "nifti_tool not installed (make deps installs nifti-bin)"
REPO=$(cd "$TESTS_DIR/.." && pwd)

# Nothing to report before a run, and nothing written.
run_fail_msg 2 "no database at" "$SULCUS" report --out rep
[ ! -e rep ] || fail "a failed report created its folder"

# The slices of t6003, plus a reference volume per subject (a blank 64x64x10
# grid) so that the cam stages write NIfTI heatmap volumes to link to.
cat >mkdata.sh <<SH
set -e
"$MKSLICES" "\$1" 5 10 64 1
nifti_tool -make_im -prefix "\$1/ref.nii.gz" -new_dim 3 64 64 10 0 0 0 0 -new_datatype 16 >/dev/null
awk 'BEGIN { FS = OFS = "\t" } NR == 1 { print \$0, "ref"; next } { print \$0, "ref.nii.gz" }' "\$1/split.tsv" >"\$1/split.new"
mv "\$1/split.new" "\$1/split.tsv"
SH
cat >wf.cfg <<CFG
name = "report-small";
stages = (
  { id = "data"; kind = "command"; command = "sh mkdata.sh {out}"; },
  { id = "train_{net}"; kind = "train"; foreach = { net = ["gap", "fc"]; }; inputs = ["data"];
    params = { network = "$REPO/cfg/tiny_{net}.cfg"; epochs = 5; batch = 8; rotate = 5.0; seed = 3; threads = 2; }; },
  { id = "eval_{net}"; kind = "evaluate"; foreach = { net = ["gap", "fc"]; }; inputs = ["train_{net}", "data"]; },
  { id = "rank"; kind = "rank"; inputs = ["eval_*"]; params = { top = 2; }; },
  { id = "cam_{net}"; kind = "cam"; foreach = { net = ["gap", "fc"]; }; inputs = ["train_{net}", "data"];
    params = { curve_steps = 8; threads = 2; }; }
);
CFG
run_ok "$SULCUS" run wf.cfg
assert_ran cam_gap
assert_ran rank

IDS="about run graph stages models curves confusion heatmaps lobes heatmap-tests volumes"

# section ID [FILE]: the markup of section ID of the report.
section() {
	awk -v id="$1" 'index($0, "<section id=\"" id "\"") { on = 1 } on { print } on && /<\/section>/ { exit }' "${2:-rep/index.html}"
}

# check_report DIR: every section there, each with data; every image and
# link resolves.  Sets NIMG and NLINK.
check_report() {
	for id in $IDS; do
		assert_file_contains "$1/index.html" "<section id=\"$id\""
		assert_file_contains "$1/index.html" "<a href=\"#$id\">"
		s=$(section "$id" "$1/index.html")
		[ -n "$s" ] || fail "section '$id' is empty"
		assert_not_contains "$s" 'class="nodata"' "section '$id'"
	done
	NIMG=0
	for src in $(grep -o '<img src="[^"]*"' "$1/index.html" | sed 's/^<img src="//; s/"$//'); do
		case $src in
		img/*) ;;
		*) fail "image '$src' is not a copy in img/" ;;
		esac
		[ -s "$1/$src" ] || fail "image '$src' of the report does not exist"
		[ "$(head -c 4 "$1/$src" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "'$1/$src' is not a PNG"
		NIMG=$((NIMG + 1))
	done
	NLINK=0
	for href in $(section volumes "$1/index.html" | grep -o '<a href="[^"]*"' | sed 's/^<a href="//; s/"$//'); do
		[ -f "$1/$href" ] || fail "link '$href' of the report leads nowhere"
		case $href in
		*.nii.gz) ;;
		*) fail "link '$href' is not a NIfTI volume" ;;
		esac
		NLINK=$((NLINK + 1))
	done
}

# No spec beside wf.cfg (the workflow the run recorded): the generic report,
# which says where it looked, with data from the engine's tables.
run_ok "$SULCUS" report --out gen
assert_contains "$(cat "$OUT")" "report: gen/index.html: 8 sections, 0 images, run 1 (the generic spec: no 'wf.report.cfg' or 'report.cfg' beside the workflow)"
for id in run graph stages metrics curves outputs; do
	assert_not_contains "$(section "$id" gen/index.html)" 'class="nodata"' "generic section '$id'"
done
# The stage graph: a box per stage (its id as title), an arrow per input.
assert_eq "$(sql_value "SELECT count(*) FROM executions WHERE run_id = 1")" \
	"$(section graph gen/index.html | grep -o '<title>' | wc -l | tr -d ' ')" "boxes of the stage graph"
assert_eq "$(sql_value "SELECT count(*) FROM executions e, json_each(e.inputs_json) WHERE e.run_id = 1")" \
	"$(section graph gen/index.html | grep -o '<line ' | wc -l | tr -d ' ')" "arrows of the stage graph"
assert_contains "$(section failures gen/index.html)" 'class="nodata"'
assert_contains "$(section stages gen/index.html)" "<td>cam_gap</td><td>cam</td><td>ran</td>"
assert_eq 2 "$(section curves gen/index.html | grep -o '<svg' | wc -l | tr -d ' ')" "generic curve charts (train_gap, train_fc)"
run_fail_msg 2 "report: no workflow file 'nope.cfg'" "$SULCUS" report nope.cfg --out gen

# The study's spec beside the workflow.
cp "$REPO/workflows/report.cfg" report.cfg
run_ok "$SULCUS" report --out rep
assert_contains "$(cat "$OUT")" "report: rep/index.html: 21 sections, 84 images, 42 linked files, run 1 (spec report.cfg)"
check_report rep
# Montages: per model and method (CAM is not applicable to the FC head:
# 4 + 3 panels with the random baseline), 4 images for each of the 3 groups.
assert_eq 84 "$NIMG" "images in the report"
# Volumes: 3 test subjects x 7 methods, normalized and raw, copied into
# the report's folder (it can be moved or zipped, and outlives gc).
assert_eq 42 "$NLINK" "links to heatmap volumes"
assert_eq 126 "$(find rep/img -type f | wc -l | tr -d ' ')" "files in rep/img (84 images, 42 volumes)"
assert_eq 42 "$(section volumes rep/index.html | grep -o '<a href="img/' | wc -l | tr -d ' ')" "volume links into img/"
mv rep moved
for href in $(section volumes moved/index.html | grep -o '<a href="[^"]*"' | sed 's/^<a href="//; s/"$//'); do
	[ -f "moved/$href" ] || fail "link '$href' of the moved report leads nowhere"
done
mv moved rep
# The models, best first, with their rank; one training curve and one
# confusion matrix per model, one lobe chart per model and method.
models=$(section models)
best=$(sql_value "SELECT model FROM rankings r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'rank' AND position = 1")
assert_contains "$models" "<tr><td>$best</td><td class=\"num\">1</td>"
# One chart per measure (train_loss, val_loss, val_acc), a line per model.
assert_eq 3 "$(section curves | grep -o '<svg' | wc -l | tr -d ' ')" "training curve charts"
assert_eq 6 "$(section curves | grep -o '<polyline' | wc -l | tr -d ' ')" "training curves"
assert_eq 2 "$(section confusion | grep -o '<svg' | wc -l | tr -d ' ')" "confusion matrices"
assert_eq 18 "$(section confusion | grep -o 'class="cell"' | wc -l | tr -d ' ')" "confusion matrix cells"
assert_eq 7 "$(section lobes | grep -o '<svg' | wc -l | tr -d ' ')" "lobe charts"
assert_contains "$(section heatmap-tests)" "<td>cam_gap</td><td>gradcam</td>"
# The random baseline's row comes last, beside the methods it is the
# chance level of.
assert_eq random "$(section heatmap-tests | grep -o '<td>cam_gap</td><td>[a-z]*</td>' | tail -1 | sed 's/.*<td>\([a-z]*\)<\/td>$/\1/')" "last row of cam_gap"
# No cam stage ran the cascading check: the section says so.
assert_contains "$(section cascade)" 'class="nodata"'
# Each panel names the model the cam stage explains (its train input).
assert_contains "$(section heatmaps)" "cam_gap · train_gap · gradcam"
# The heatmaps' colour scale, and each heatmap's caption: subject and
# slice, true class, the model's class and its probability.
assert_eq 6 "$(section heatmaps | grep -o '<stop ' | wc -l | tr -d ' ')" "stops of the heatmaps' colour scale"
assert_eq 84 "$(section heatmaps | grep -o '<figcaption>[^<]* z[0-9]*: [A-C] as [A-C] (p [01]\.[0-9][0-9])</figcaption>' | wc -l | tr -d ' ')" \
	"heatmap captions with classes and probability"
assert_contains "$(section stages)" "<td>cam_gap</td><td>cam</td><td>ran</td>"

# A rerun comes from the cache: its report (the latest run) still shows
# every result; --run 1 reports the first run.  The folder is rewritten.
run_ok "$SULCUS" run wf.cfg
assert_cached cam_gap
run_ok "$SULCUS" report --out rep
assert_contains "$(cat "$OUT")" "run 2"
check_report rep
assert_contains "$(section stages)" "<td>cam_gap</td><td>cam</td><td>cached</td>"
assert_eq 126 "$(find rep/img -type f | wc -l | tr -d ' ')" "files in rep/img after a second report (images and volumes)"
# Without --compare the comparison sections say how to get them.
assert_contains "$(section compare-models)" 'class="nodata"'
# --compare 1: run 2's models beside run 1's (the same, from the cache),
# and both runs' training curves in one chart per measure.
run_ok "$SULCUS" report --out cmp --compare 1
assert_contains "$(cat "$OUT")" "run 2 compared with run 1"
cm=$(section compare-models cmp/index.html)
assert_not_contains "$cm" 'class="nodata"' "compare-models"
assert_contains "$cm" "<td>eval_gap</td>"
assert_eq 4 "$(printf '%s\n' "$cm" | grep -o '<td class="num">0.0</td>' | wc -l | tr -d ' ')" "no change in accuracy and loss of 2 models"
assert_eq 12 "$(section compare-curves cmp/index.html | grep -o '<polyline' | wc -l | tr -d ' ')" \
	"curves of 2 models in 2 runs, 3 measures"
run_fail_msg 2 "--compare: report: no run 9 in the database" "$SULCUS" report --out cmp --compare 9
run_ok "$SULCUS" report --out rep1 --run 1
assert_file_contains rep1/index.html "<p>run 1 "
assert_contains "$(section stages rep1/index.html)" "<td>cam_gap</td><td>cam</td><td>ran</td>"
run_fail_msg 2 "report: no run 7 in the database" "$SULCUS" report --out rep7 --run 7
[ ! -e rep7 ] || fail "a failed report created its folder"

# Another spec: escaped text; bad SQL names the file, line and section and
# leaves the earlier report as it was.
cat >my.cfg <<'CFG'
title = "Mine <&>";
sections = (
  { id = "note"; kind = "text"; text = "a <b> & c"; },
  { id = "n"; kind = "table"; query = "SELECT count(*) AS stages FROM executions WHERE run_id = :run"; }
);
CFG
run_ok "$SULCUS" report --spec my.cfg --out mine
assert_contains "$(cat "$OUT")" "mine/index.html: 2 sections, 0 images, run 2 (spec my.cfg)"
assert_file_contains mine/index.html "<h1>Mine &lt;&amp;&gt;</h1>"
assert_file_contains mine/index.html "<p>a &lt;b&gt; &amp; c</p>"
assert_file_contains mine/index.html '<td class="num">8</td>'
cat >bad.cfg <<'CFG'
sections = (
  { id = "fine"; kind = "text"; text = "x"; },
  { id = "oops"; kind = "bars";
    query = "SELECT * FROM no_such_table"; }
);
CFG
# A WORKFLOW argument: the spec beside that file (NAME.report.cfg first).
mkdir other-wf && cp wf.cfg other-wf/study.cfg && cp my.cfg other-wf/study.report.cfg
run_ok "$SULCUS" report other-wf/study.cfg --out mine2
assert_contains "$(cat "$OUT")" "mine2/index.html: 2 sections, 0 images, run 2 (spec other-wf/study.report.cfg)"
cp mine/index.html mine.before
run_fail_msg 2 "bad.cfg:3: section 'oops': no such table: no_such_table" "$SULCUS" report --spec bad.cfg --out mine
cmp -s mine.before mine/index.html || fail "a failed report changed the earlier one"
[ -z "$(find mine -name '.img.tmp.*')" ] || fail "a failed report left its staging folder"

# A folder that holds something else is not written into.
mkdir other && echo keep >other/notes.txt
run_fail_msg 2 "report folder 'other' is not empty and holds no earlier report" "$SULCUS" report --out other
[ ! -e other/index.html ] || fail "report wrote into a foreign folder"

# The browser: the page renders from disk, without a server or network.
command -v chromium >/dev/null || skip "chromium not installed: make deps installs chromium"
browse() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TEST_ROOT/chromium" "$@" \
		"file://$PWD/rep/index.html"
}
browse --dump-dom >dom.html 2>"$ERR" || { cat "$ERR" >&2; fail "chromium --dump-dom failed"; }
for id in $IDS; do
	assert_file_contains dom.html "<section id=\"$id\""
done
assert_eq 84 "$(grep -o '<img ' dom.html | wc -l | tr -d ' ')" "<img> elements in the DOM"
# The heatmaps' colour scale and captions, as the browser built them.
assert_eq 1 "$(grep -o 'class="colorbar"' dom.html | wc -l | tr -d ' ')" "colour scale in the DOM"
assert_eq 84 "$(grep -o '<figcaption>[^<]* as [A-C] (p [01]\.[0-9][0-9])</figcaption>' dom.html | wc -l | tr -d ' ')" \
	"heatmap captions in the DOM"
# The stage graph, 3 training curve charts, 2 confusion matrices, the
# heatmaps' colour scale, 7 lobe charts.
assert_eq 14 "$(grep -o '<svg ' dom.html | wc -l | tr -d ' ')" "<svg> elements in the DOM"
browse --screenshot="$PWD/shot.png" --window-size=1280,4000 >"$OUT" 2>"$ERR" || { cat "$ERR" >&2; fail "chromium --screenshot failed"; }
[ -f shot.png ] || fail "chromium wrote no screenshot"
[ "$(head -c 4 shot.png | od -An -c | tr -d ' ')" = "211PNG" ] || fail "the screenshot is not a PNG"
assert_eq "0 0 5 0 0 0 15 160" "$(od -An -tu1 -j16 -N8 shot.png | tr -s ' ' | sed 's/^ //')" "screenshot width and height (1280x4000)"
# A blank page of that size compresses to a few kB; the report's charts and
# images make hundreds.
size=$(wc -c <shot.png | tr -d ' ')
[ "$size" -gt 100000 ] || fail "the screenshot is only $size bytes: is the page blank?"
exit 0
