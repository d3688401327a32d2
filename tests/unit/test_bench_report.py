"""`make bench` prints what it measured: the attribution part's report lines (no database)."""

from marketing.dev import attribution_bench


def test_the_attribution_report_prints_every_figure_it_measured(capsys):
    attribution_bench._print_full({
        "conversions": 1_005_000, "touchpoints": 5_100_000, "credits": 14_475_184, "paths": 2_865_046,
        "seconds": 37.59, "temp_mb": 480, "path_rows": 314_088, "without_seconds": 32.04, "without_temp_mb": 480,
        "six_seconds": 16.72, "six_temp_mb": 80})
    rows = [{"history_days": days, "seconds": seconds, "temp_mb": 10, "read_mb": 20, "conversions_recomputed": 35_000,
             "rerun_seconds": seconds + 1, "rerun_without_seconds": seconds, "rerun_six_seconds": 4.0}
            for days, seconds in ((30, 12.0), (60, 15.0), (120, 18.0))]
    attribution_bench._print_incremental(rows)
    out = capsys.readouterr().out
    assert "the markov model adds 20.87 s = +125%" in out
    assert "funnel add 5.55 s = +17%" in out
    assert " 120 days of history   18.00 s with markov,   4.00 s without" in out
    assert "120 days / 30 days = 1.50" in out
