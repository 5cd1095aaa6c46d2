-- sulcus results and provenance database: schema version 1.
--
-- This file is a public interface: users query these tables with
-- `sulcus query "SQL"` (or any SQLite client), and db/queries/ holds
-- examples.  It is migration 1, applied when PRAGMA user_version is 0.
-- A shipped migration is never edited: later versions add
-- db/migrate-N.sql files that take the database from version N-1 to N.
--
-- Times are ISO 8601 UTC text ('2026-11-26T12:30:00.123Z').  Cache keys and
-- digests are lowercase hex SHA-256.  The engine is the only writer; every
-- write happens in a transaction.

-- One row per `sulcus run`.
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  workflow        TEXT NOT NULL,     -- the workflow file as given on the command line
  workflow_name   TEXT NOT NULL,     -- its `name`
  workflow_sha256 TEXT NOT NULL,     -- digest of the file's bytes
  argv            TEXT NOT NULL,     -- JSON array: the whole command line
  overrides       TEXT NOT NULL,     -- JSON array of the --set arguments ("ID.NAME=VALUE")
  executor        TEXT NOT NULL,     -- 'local', ...
  started_at      TEXT NOT NULL,
  finished_at     TEXT,
  -- running: in progress (or its engine was killed and no run has started since);
  -- succeeded / failed: every stage succeeded / some stage failed or was skipped;
  -- interrupted: stopped by a signal (Ctrl-C); killed: found dead by a later run.
  status          TEXT NOT NULL CHECK (status IN
                    ('running', 'succeeded', 'failed', 'interrupted', 'killed')),
  host            TEXT NOT NULL,
  sulcus_version  TEXT NOT NULL
);

-- One row per stage per run: what happened to it, and why.
CREATE TABLE executions (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage        TEXT NOT NULL,        -- stage id (after foreach expansion)
  kind         TEXT NOT NULL,
  kind_version INTEGER NOT NULL,
  cache_key    TEXT,                 -- NULL when skipped before its key was known
  -- ran: executed and published; cached: reused from the cache;
  -- failed: executed and failed (or was interrupted); skipped: not run
  -- because an input failed, or the run stopped; running: in progress.
  status       TEXT NOT NULL CHECK (status IN ('running', 'ran', 'cached', 'failed', 'skipped')),
  reason       TEXT,                 -- why it ran ("params changed: epochs 30 -> 40"), or why it failed/was skipped
  params_json  TEXT NOT NULL,        -- effective parameters, after defaults and overrides
  keys_json    TEXT NOT NULL,        -- kind-specific keys (the command text of a command stage)
  inputs_json  TEXT NOT NULL,        -- {"input id": "output digest of that input", ...}
  files_json   TEXT NOT NULL,        -- {"external path": "content digest", ...}
  started_at   TEXT,
  finished_at  TEXT,
  wall_s       REAL,
  cpu_s        REAL,                 -- user + system CPU of the stage's process tree
  max_rss_kb   INTEGER,              -- peak resident memory of its largest process
  exit_code    INTEGER,              -- the stage process's exit status (128+N: signal N)
  log_path     TEXT,                 -- stdout and stderr of the stage
  UNIQUE (run_id, stage)
);
CREATE INDEX executions_by_stage ON executions (stage, id);
CREATE INDEX executions_by_key ON executions (cache_key);

-- Every cache entry ever published: the digest of its whole output.
CREATE TABLE outputs (
  cache_key  TEXT PRIMARY KEY,
  digest     TEXT NOT NULL,
  files      INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

-- The files a cache entry holds (paths relative to its output folder).
CREATE TABLE artifacts (
  cache_key TEXT NOT NULL,
  path      TEXT NOT NULL,
  sha256    TEXT NOT NULL,
  bytes     INTEGER NOT NULL,
  PRIMARY KEY (cache_key, path)
);

-- Metrics a stage reported in its output's metrics.tsv ("name<TAB>step<TAB>value").
-- Keyed by cache key: the metrics of a stage reused from the cache are found
-- through any execution's cache_key.
CREATE TABLE metrics (
  cache_key TEXT NOT NULL,
  name      TEXT NOT NULL,
  step      INTEGER,                 -- NULL for a single value
  value     REAL
);
CREATE INDEX metrics_by_key ON metrics (cache_key, name, step);

-- Memo of external file digests, so unchanged large data is not re-read.
CREATE TABLE file_digests (
  path     TEXT PRIMARY KEY,         -- absolute
  size     INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  inode    INTEGER NOT NULL,
  sha256   TEXT NOT NULL
);

-- Convenience: the latest execution of each stage id.
CREATE VIEW latest_executions AS
  SELECT e.* FROM executions e
  WHERE e.id = (SELECT max(id) FROM executions x WHERE x.stage = e.stage);
