-- models.sql - the evaluated models of the workflow run last (not those
-- of another workflow in the same workspace), best first (as `rank`
-- ordered them when there is a rank stage): test accuracy and loss per
-- slice, accuracy per subject, macro ROC AUC.
--   sulcus query -f db/queries/models.sql
WITH wf AS (SELECT workflow_name AS name FROM runs ORDER BY id DESC LIMIT 1),
     latest AS (
       SELECT e.* FROM executions e JOIN runs r ON r.id = e.run_id JOIN wf ON r.workflow_name = wf.name
       WHERE e.id = (SELECT max(x.id) FROM executions x JOIN runs rx ON rx.id = x.run_id
                     WHERE x.stage = e.stage AND rx.workflow_name = wf.name))
SELECT e.stage AS model,
       (SELECT position FROM rankings r JOIN latest x ON x.cache_key = r.cache_key
        WHERE r.model = e.stage ORDER BY x.id DESC LIMIT 1) AS rank,
       round(max(CASE WHEN m.name = 'accuracy' THEN m.value END), 3) AS accuracy,
       round(max(CASE WHEN m.name = 'loss' THEN m.value END), 3) AS loss,
       round(max(CASE WHEN m.name = 'subject_accuracy' THEN m.value END), 3) AS subject_accuracy,
       round(max(CASE WHEN m.name = 'macro_auc' THEN m.value END), 3) AS macro_auc,
       max(CASE WHEN m.name = 'count' THEN CAST(m.value AS INTEGER) END) AS slices
FROM latest e JOIN metrics m ON m.cache_key = e.cache_key AND m.step IS NULL
WHERE e.kind = 'evaluate'
GROUP BY e.stage
ORDER BY rank IS NULL, rank, loss;
