-- Schema version 4: what the `cam` stages publish (stages/cam.c).
-- Join with executions on cache_key to know the stage (one cam stage per
-- model), e.g. how often each lobe holds the Grad-CAM peak, per group:
--   SELECT e.stage, l.group_name, l.lobe, l.fraction FROM heatmap_lobes l
--   JOIN latest_executions e USING (cache_key) WHERE l.method = 'gradcam';

-- One row per heatmap: slice x method x target class.
CREATE TABLE heatmaps (
  cache_key       TEXT NOT NULL,
  subject         TEXT NOT NULL,
  slice           INTEGER,            -- axial index in the subject's volume
  group_name      TEXT NOT NULL,      -- RRMS, SPMS, HC, ...
  label           TEXT NOT NULL,      -- true class
  method          TEXT NOT NULL,      -- cam, gradcam, gradcampp
  target          TEXT NOT NULL,      -- the class the heatmap explains
  predicted       TEXT NOT NULL,      -- the model's class for the slice
  prob            REAL NOT NULL,      -- the model's probability of target
  applicable      INTEGER NOT NULL,   -- 0: CAM on a model without a GAP head (every value below NULL)
  raw_min         REAL,               -- the map's range before normalization to [0, 1]
  raw_max         REAL,
  share_frontal   REAL,               -- share of the (normalized) heat in each lobe, of the heat inside the brain
  share_temporal  REAL,
  share_parietal  REAL,
  share_occipital REAL,
  share_other     REAL,
  peak_frontal    REAL,               -- the highest heat in each lobe
  peak_temporal   REAL,
  peak_parietal   REAL,
  peak_occipital  REAL,
  peak_other      REAL,
  peak_lobe       TEXT,               -- the lobe holding the heatmap's maximum ("most highlighted")
  top_lobe        TEXT,               -- the lobe with the largest share
  lobe_source     TEXT,               -- 'labels' (an atlas in subject space) or 'geometric' (stages/cam.c's fallback)
  pointing        INTEGER,            -- pointing game: 1 hit, 0 miss; NULL: no lesion in the slice
  lesion_share    REAL,               -- share of the heat inside the lesion mask
  score           REAL,               -- probability of target on the slice ...
  masked_score    REAL,               -- ... and on the slice times its heatmap (Average Drop)
  deletion_auc    REAL,               -- area under the deletion curve (lower: more faithful)
  insertion_auc   REAL,               -- area under the insertion curve (higher: more faithful)
  sanity_rho      REAL                -- Spearman correlation with the randomized model's heatmap
);
CREATE INDEX heatmaps_by_key ON heatmaps (cache_key, method);

-- How often each lobe holds the peak, per method and group.
CREATE TABLE heatmap_lobes (
  cache_key  TEXT NOT NULL,
  method     TEXT NOT NULL,
  group_name TEXT NOT NULL,
  lobe       TEXT NOT NULL,
  peaks      INTEGER NOT NULL,        -- heatmaps whose peak lies in lobe
  heatmaps   INTEGER NOT NULL,        -- heatmaps of that method and group with a peak in the brain
  fraction   REAL                     -- peaks / heatmaps
);

-- Per method: tests and summaries (name says which):
--   chi2_peak_lobe_by_group (value = chi-square, df, p; n heatmaps),
--   consistency_within_subject / _within_group (mean pairwise Pearson r; n pairs),
--   agreement_with_<method> (mean r with the other method, same slice and target),
--   average_drop, increase_in_confidence (%), deletion_auc, insertion_auc,
--   pointing_game (hit rate), lesion_share, sanity_rank_correlation,
--   not_applicable (CAM without a GAP head).
CREATE TABLE heatmap_tests (
  cache_key TEXT NOT NULL,
  method    TEXT NOT NULL,
  name      TEXT NOT NULL,
  value     REAL,
  df        REAL,
  p         REAL,
  n         REAL
);
