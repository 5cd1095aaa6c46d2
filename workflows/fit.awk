# fit.awk - the demo's "model": the threshold on one feature (x or y) that
# best separates class 0 from class 1.  Input lines: CLASS X Y.
# Output: FEATURE ACCURACY THRESHOLD
{
	v = col == "x" ? $2 : $3
	n++; cls[n] = $1; val[n] = v
	if (n == 1 || v < lo) lo = v
	if (n == 1 || v > hi) hi = v
}
END {
	best = 0
	for (b = 1; b < bins; b++) {
		t = lo + (hi - lo) * b / bins
		ok = 0
		for (i = 1; i <= n; i++) ok += (val[i] >= t) == cls[i]
		if (ok > best) { best = ok; bt = t }
	}
	printf "%s %.4f %.4f\n", col, best / n, bt
}
