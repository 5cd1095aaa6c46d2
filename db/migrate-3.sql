-- Schema version 3: what the Darknet stages publish, row by row
-- (a stage's tables/NAME.tsv goes into table NAME; engine/tables.h).

-- Every evaluated slice's class probabilities (`evaluate` stages).  Join
-- with executions on cache_key to know the stage and run:
--   SELECT e.stage, avg(correct) FROM predictions p
--   JOIN latest_executions e USING (cache_key) GROUP BY e.stage;
CREATE TABLE predictions (
  cache_key  TEXT NOT NULL,           -- the evaluate stage's output
  subject    TEXT NOT NULL,
  slice      INTEGER,                 -- axial index in the subject's volume
  group_name TEXT NOT NULL,           -- the subject's group (RRMS, SPMS, HC, ...)
  label      TEXT NOT NULL,           -- true class name
  predicted  TEXT NOT NULL,           -- class with the highest probability
  correct    INTEGER NOT NULL,        -- 1 when predicted = label
  prob_label REAL NOT NULL,           -- the probability given to the true class
  probs      TEXT NOT NULL            -- JSON object {"class name": probability, ...}
);
CREATE INDEX predictions_by_key ON predictions (cache_key, subject);

-- The models a `rank` stage ordered, best first.
CREATE TABLE rankings (
  cache_key TEXT NOT NULL,            -- the rank stage's output
  position  INTEGER NOT NULL,         -- 1 = best
  model     TEXT NOT NULL,            -- the input stage (an evaluate stage) holding the model
  metric    TEXT NOT NULL,            -- what it was ranked by ("loss, then -accuracy")
  loss      REAL,
  accuracy  REAL,
  macro_auc REAL,
  selected  INTEGER NOT NULL          -- 1 for the top k handed downstream
);
