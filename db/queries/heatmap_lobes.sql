-- heatmap_lobes.sql - how often each lobe holds the heatmap's peak, per
-- cam stage (model), method and group, with the chi-square test of peak
-- lobe against group.
--   sulcus query -f db/queries/heatmap_lobes.sql
SELECT e.stage AS cam, l.method, l.group_name, l.lobe, l.peaks, l.heatmaps, round(l.fraction, 3) AS fraction,
       (SELECT round(t.p, 4) FROM heatmap_tests t WHERE t.cache_key = l.cache_key AND t.method = l.method
        AND t.name = 'chi2_peak_lobe_by_group') AS chi2_p
FROM heatmap_lobes l JOIN latest_executions e USING (cache_key)
ORDER BY e.stage, l.method, l.group_name, l.peaks DESC;
