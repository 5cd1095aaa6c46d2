-- known_answer.sql - the known-answer experiment (workflows/known_answer.cfg)
-- per cam stage and method: the pointing game and the share of heat on the
-- planted lesion clusters, each beside its chance level, and how often the
-- RRMS maps peak in the occipital lobe and the SPMS maps in the frontal
-- lobe (where the clusters are).  cam_random_* are the models with their
-- weights randomized; the method `random` is a map of noise.  The models'
-- accuracy: db/queries/models.sql.
--   sulcus query -f db/queries/known_answer.sql
WITH wf AS (SELECT workflow_name AS name FROM runs ORDER BY id DESC LIMIT 1),
     latest AS (
       SELECT e.* FROM executions e JOIN runs r ON r.id = e.run_id JOIN wf ON r.workflow_name = wf.name
       WHERE e.id = (SELECT max(x.id) FROM executions x JOIN runs rx ON rx.id = x.run_id
                     WHERE x.stage = e.stage AND rx.workflow_name = wf.name))
SELECT e.stage, t.method,
       round(max(CASE t.name WHEN 'pointing_game' THEN t.value END), 3) AS pointing,
       round(max(CASE t.name WHEN 'pointing_game_chance' THEN t.value END), 3) AS pointing_chance,
       round(max(CASE t.name WHEN 'lesion_share' THEN t.value END), 3) AS lesion_share,
       round(max(CASE t.name WHEN 'lesion_share_chance' THEN t.value END), 3) AS share_chance,
       (SELECT round(l.fraction, 3) FROM heatmap_lobes l WHERE l.cache_key = e.cache_key AND l.method = t.method
          AND l.group_name = 'RRMS' AND l.lobe = 'occipital') AS rrms_peak_occipital,
       (SELECT round(l.fraction, 3) FROM heatmap_lobes l WHERE l.cache_key = e.cache_key AND l.method = t.method
          AND l.group_name = 'SPMS' AND l.lobe = 'frontal') AS spms_peak_frontal,
       max(CASE t.name WHEN 'lesion_share' THEN t.n END) AS maps_on_clusters
FROM latest e JOIN heatmap_tests t ON t.cache_key = e.cache_key
WHERE e.kind = 'cam'
GROUP BY e.id, t.method
ORDER BY e.stage, CASE t.method WHEN 'random' THEN 2 ELSE 1 END, t.method;
