-- heatmap_lobes.sql - how often each lobe holds the heatmap's peak, per
-- cam stage (model), method and group, with the chi-square test of peak
-- lobe against group, for the workflow run last.
--   sulcus query -f db/queries/heatmap_lobes.sql
WITH wf AS (SELECT workflow_name AS name FROM runs ORDER BY id DESC LIMIT 1),
     latest AS (
       SELECT e.* FROM executions e JOIN runs r ON r.id = e.run_id JOIN wf ON r.workflow_name = wf.name
       WHERE e.id = (SELECT max(x.id) FROM executions x JOIN runs rx ON rx.id = x.run_id
                     WHERE x.stage = e.stage AND rx.workflow_name = wf.name))
SELECT e.stage AS cam, l.method, l.group_name, l.lobe, l.peaks, l.heatmaps, round(l.fraction, 3) AS fraction,
       (SELECT round(t.p, 4) FROM heatmap_tests t WHERE t.cache_key = l.cache_key AND t.method = l.method
        AND t.name = 'chi2_peak_lobe_by_group') AS chi2_p
FROM heatmap_lobes l JOIN latest e USING (cache_key)
ORDER BY e.stage, l.method, l.group_name, l.peaks DESC;
