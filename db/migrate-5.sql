-- Schema version 5: the engine's schema holds no kind's tables.
--
-- The tables that stage kinds fill (predictions, rankings, heatmaps, ...)
-- are declared by the kinds themselves (engine/kind.h, struct
-- sul_table_spec; `sulcus kinds KIND` lists them) and created by the engine
-- when a run opens the database (engine/tables.h).  Their rows come from
-- the cache entries (tables/NAME.tsv), so a table whose declaration changes
-- is dropped and rebuilt from the cache.  The tables that versions 3 and 4
-- created (shipped migrations are never edited) go the same way: dropped
-- here, and rebuilt by their kinds when the run that migrated opens them.

DROP TABLE IF EXISTS predictions;
DROP TABLE IF EXISTS rankings;
DROP TABLE IF EXISTS heatmaps;
DROP TABLE IF EXISTS heatmap_lobes;
DROP TABLE IF EXISTS heatmap_tests;

-- One row per table a kind declares, as this database last created it.
CREATE TABLE kind_tables (
  name TEXT PRIMARY KEY,              -- the table
  kind TEXT NOT NULL,                 -- the kind that declares it
  sql  TEXT NOT NULL                  -- its CREATE TABLE and CREATE INDEX statements
);
