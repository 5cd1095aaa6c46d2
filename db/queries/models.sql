-- models.sql - the evaluated models, best first (as `rank` ordered them
-- when there is a rank stage): test accuracy and loss per slice, accuracy
-- per subject, macro ROC AUC.
--   sulcus query -f db/queries/models.sql
SELECT e.stage AS model,
       (SELECT position FROM rankings r JOIN latest_executions x ON x.cache_key = r.cache_key
        WHERE r.model = e.stage ORDER BY x.id DESC LIMIT 1) AS rank,
       round(max(CASE WHEN m.name = 'accuracy' THEN m.value END), 3) AS accuracy,
       round(max(CASE WHEN m.name = 'loss' THEN m.value END), 3) AS loss,
       round(max(CASE WHEN m.name = 'subject_accuracy' THEN m.value END), 3) AS subject_accuracy,
       round(max(CASE WHEN m.name = 'macro_auc' THEN m.value END), 3) AS macro_auc,
       max(CASE WHEN m.name = 'count' THEN CAST(m.value AS INTEGER) END) AS slices
FROM latest_executions e JOIN metrics m ON m.cache_key = e.cache_key AND m.step IS NULL
WHERE e.kind = 'evaluate'
GROUP BY e.stage
ORDER BY rank IS NULL, rank, loss;
