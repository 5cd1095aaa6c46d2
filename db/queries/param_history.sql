-- param_history.sql - how one stage's parameters changed across runs.
--   sulcus query -f db/queries/param_history.sql -p stage=train_resnet18_gap
SELECT e.run_id, r.workflow_name AS workflow, e.status, e.params_json, r.overrides
FROM executions e JOIN runs r ON r.id = e.run_id
WHERE e.stage = :stage
ORDER BY e.run_id;
