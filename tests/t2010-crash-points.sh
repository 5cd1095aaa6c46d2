#!/bin/sh
# t2010-crash-points: a kill at every crash point, and a failure of every
# write, fsync, rename, mkdir and SQLite step, during a forced rerun whose
# output differs from the last one (engine/fault.h, build/sulcus-faults).
# After each, the next run completes and: the database passes
# `PRAGMA integrity_check`; every cache entry's files match its manifest;
# every `outputs` row's digest and every `artifacts` row match the entry's
# manifest; no execution is left 'running'; and the downstream stage's
# output is its input's, as the latest run recorded them (no stage ran, or
# was taken from the cache, on a stale input).  Last, a stage failing on a
# (faked) full disk: the engine says the disk is full.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

: "${SULCUS_FAULTS:=$(dirname "$SULCUS")/sulcus-faults}"
[ -x "$SULCUS_FAULTS" ] || fail "no fault-injection build at '$SULCUS_FAULTS' (make build/sulcus-faults)"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (make deps)"

# a's output is new on every run: a forced rerun replaces its entry with a
# different one, and b must follow it.
cat >wf.cfg <<'EOF'
name = "crash";
stages = (
  { id = "a"; kind = "command"; command = "od -An -N8 -tx8 /dev/urandom > {out}/v; echo 1 > {out}/w"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "cat {in.a}/v > {out}/v"; }
);
EOF

# consistent WHAT: the workspace's database and cache agree (see above).
# One sqlite3 call reads what the database says; the manifests say the rest.
consistent() {
	_what=$1
	sqlite3 -separator ' ' .sulcus/sulcus.db "PRAGMA integrity_check;
		SELECT 'running', count(*) FROM executions WHERE status = 'running';
		SELECT 'latest', stage, cache_key FROM latest_executions WHERE stage IN ('a', 'b');
		SELECT 'output', cache_key, digest FROM outputs;
		SELECT 'artifact', cache_key, sha256, path FROM artifacts;" >"$TEST_ROOT/db.txt" \
		|| fail "$_what: sqlite3 cannot read the database"
	assert_eq ok "$(sed -n 1p "$TEST_ROOT/db.txt")" "$_what: integrity_check"
	assert_eq "running 0" "$(grep '^running ' "$TEST_ROOT/db.txt")" "$_what: executions left running"
	: >"$TEST_ROOT/disk.txt"
	for _e in .sulcus/cache/*; do
		[ -d "$_e" ] || continue
		_key=${_e##*/}
		[ -f "$_e/manifest" ] || fail "$_what: entry $_key has no manifest"
		# File lines of a manifest: type+mode, sha256, bytes, path.
		awk '$1 ~ /^f/ { print $2 "  " $4 }' "$_e/manifest" >"$TEST_ROOT/sums"
		(cd "$_e/out" && sha256sum --quiet -c "$TEST_ROOT/sums") >/dev/null 2>&1 \
			|| fail "$_what: entry $_key: files differ from its manifest"
		awk -v k="$_key" '/^digest / { print "output", k, $2 } $1 ~ /^f/ { print "artifact", k, $2, $4 }' \
			"$_e/manifest" >>"$TEST_ROOT/disk.txt"
	done
	# Every row describes an entry on disk as its manifest does (an entry
	# may lack rows: the next run that uses it records them).
	awk 'NR == FNR { disk[$0] = 1; if ($1 == "artifact") files[$2]++; next }
		($1 == "output" || $1 == "artifact") && !($0 in disk) { print "row without its entry: " $0; bad = 1 }
		$1 == "output" { recorded[$2] = 1 }
		$1 == "artifact" { rows[$2]++ }
		END {
			for (k in recorded)
				if (rows[k] != files[k]) { print k ": " rows[k] + 0 " artifacts rows, " files[k] + 0 " files"; bad = 1 }
			exit bad
		}' "$TEST_ROOT/disk.txt" "$TEST_ROOT/db.txt" >"$TEST_ROOT/diff.txt" \
		|| fail "$_what: the database disagrees with the cache: $(cat "$TEST_ROOT/diff.txt")"
	_ka=$(awk '$1 == "latest" && $2 == "a" { print $3 }' "$TEST_ROOT/db.txt")
	_kb=$(awk '$1 == "latest" && $2 == "b" { print $3 }' "$TEST_ROOT/db.txt")
	cmp -s ".sulcus/cache/$_ka/out/v" ".sulcus/cache/$_kb/out/v" \
		|| fail "$_what: b's output is not a's: b ran on, or was cached from, a stale input"
}

# recover WHAT: a plain run completes, and everything agrees.
recover() {
	run_ok "$SULCUS" run wf.cfg
	consistent "$1"
}

run_ok "$SULCUS" run wf.cfg
consistent "first run"

# The crash points and calls that a forced rerun of a goes through.
rm -f trace
run_ok env SULCUS_FAULT_TRACE="$TEST_ROOT/trace" "$SULCUS_FAULTS" run --force a wf.cfg
consistent "forced rerun"
points=$(sed -n 's/^crash //p' "$TEST_ROOT/trace" | sort -u)
for p in publish-before-rename publish-between-renames publish-before-removing-old stage-after-publish \
	finish-before-record; do
	assert_contains "$points" "$p" "crash points reached by a forced rerun"
done

for p in $points; do
	run_status env SULCUS_CRASH_AT="$p" "$SULCUS_FAULTS" run --force a wf.cfg
	[ "$STATUS" -ne 0 ] || fail "SULCUS_CRASH_AT=$p: the run did not notice the kill"
	recover "after a kill at $p"
done

# Each failing call.  Counts are per process, so the Nth call fails in the
# engine and in each stage process that gets that far: the worst case.
for call in write fsync rename mkdir sqlite; do
	n=$(grep -c "^call $call\$" "$TEST_ROOT/trace")
	[ "$n" -gt 0 ] || fail "a forced rerun makes no '$call' call"
	i=1
	while [ "$i" -le "$n" ]; do
		# EIO too where the message differs (SQLite's is its own).
		errs=ENOSPC
		case $call in write | fsync | rename) errs="ENOSPC EIO" ;; esac
		for e in $errs; do
			run_status env SULCUS_FAIL_AT="$call:$i:$e" "$SULCUS_FAULTS" run --force a wf.cfg
			case $STATUS in
			0 | 1 | 3) ;;
			*) show_output; fail "SULCUS_FAIL_AT=$call:$i:$e: exit status $STATUS" ;;
			esac
			if [ "$STATUS" -ne 0 ] && ! grep -q -e "No space left on device" -e "Input/output error" \
				-e "disk is full" "$ERR" "$TEST_DIR"/.sulcus/logs/*/*.log; then
				show_output
				fail "SULCUS_FAIL_AT=$call:$i:$e: the failure's cause is not reported"
			fi
			# No row left for a live run to own: plan does not call it running.
			"$SULCUS" plan wf.cfg >"$TEST_ROOT/plan" 2>&1
			if grep -q "running now" "$TEST_ROOT/plan"; then
				fail "SULCUS_FAIL_AT=$call:$i:$e: plan says a stage runs now: $(cat "$TEST_ROOT/plan")"
			fi
			recover "after failing $call $i with $e"
		done
		i=$((i + 1))
	done
done

# A stage that fails on a full disk may have no room to say so in its log:
# the engine looks at the file system and says it (free space faked here).
cat >full.cfg <<'EOF'
name = "full";
stages = ( { id = "w"; kind = "command"; command = "exit 1"; } );
EOF
run_fail_msg 1 "the file system of '$TEST_DIR/.sulcus' is full" \
	env SULCUS_FAIL_AT=statvfs:1 "$SULCUS_FAULTS" run full.cfg
run_fail_msg 1 "command exited with status 1" "$SULCUS" run full.cfg
assert_file_lacks "$ERR" "is full"
