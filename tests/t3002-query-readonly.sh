#!/bin/sh
# t3002-query-readonly: `sulcus query` refuses statements that write
# (exit status 2, a message saying only reads are allowed) and changes
# nothing; --db PATH reads a database anywhere.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "ro";
stages = (
  { id = "a"; kind = "command"; command = "echo a > {out}/v"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" run -q wf.cfg
before=$(cksum <.sulcus/sulcus.db)

for stmt in "INSERT INTO runs (id) VALUES (99)" \
	"DELETE FROM executions" \
	"UPDATE runs SET status = 'failed'" \
	"DROP TABLE metrics" \
	"CREATE TABLE t (x)" \
	"SELECT 1; DELETE FROM runs" \
	"PRAGMA user_version = 7"; do
	run_fail_msg 2 "query: only statements that read are allowed, and this one writes" "$SULCUS" query "$stmt"
done
run_fail_msg 2 "only statements that read are allowed" "$SULCUS" query --db .sulcus/sulcus.db "DELETE FROM runs"

sql_ok "SELECT count(*) FROM runs"
assert_eq 2 "$ROWS" "runs after refused writes"
sql_ok "SELECT count(*) FROM executions"
assert_eq 2 "$ROWS" "executions after refused writes"
sql_ok "SELECT count(*) FROM sqlite_master WHERE name IN ('metrics', 't')"
assert_eq 1 "$ROWS" "tables after refused writes"
sql_ok "PRAGMA user_version"
[ "$ROWS" != 7 ] || fail "PRAGMA user_version was changed"
assert_eq "$before" "$(cksum <.sulcus/sulcus.db)" "database file after refused writes"

# --db from another folder, and a database that is not there.
mkdir elsewhere
(
	cd elsewhere || exit 1
	run_ok "$SULCUS" query --csv --db ../.sulcus/sulcus.db "SELECT count(*) AS n FROM runs"
	assert_eq "n
2" "$(cat "$OUT")" "query --db"
	run_ok "$SULCUS" runs --db ../.sulcus/sulcus.db
	run_ok "$SULCUS" query --csv --workdir ../.sulcus "SELECT count(*) AS n FROM runs"
	assert_eq "n
2" "$(cat "$OUT")" "query --workdir"
	run_fail_msg 2 "no database at 'nope.db'" "$SULCUS" query --db nope.db "SELECT 1"
	[ ! -e nope.db ] || fail "query --db created the database"
	[ ! -e .sulcus ] || fail "query created a workspace"
) || exit 1

# Every statement is checked before any runs: the SELECT before a refused
# DELETE prints nothing.
run_fail_msg 2 "this one writes: 'DELETE FROM runs'" "$SULCUS" query --csv "SELECT 'leaked' AS x; DELETE FROM runs"
assert_eq "" "$(cat "$OUT")" "stdout of a refused query"

# Output that cannot be written is a failure of sulcus (status 3), not silence.
if [ -w /dev/full ]; then
	run_fail_msg 3 "cannot write to standard output: No space left on device" sh -c '"$SULCUS" query "SELECT 1" >/dev/full'
	run_fail_msg 3 "cannot write to standard output" sh -c '"$SULCUS" runs >/dev/full'
fi
