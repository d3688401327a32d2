"""The fit (docs/customers.md rules 9 and 12) on the CDNOW sample of the BG/NBD paper.

The CDNOW summary is vendored from lifetimes (MIT; tests/data/LICENSE.lifetimes): 2,357
customers over 39 weeks, 946 of them repeat buyers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from marketing.customers import clv
import clv_reference as ref

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def cdnow():
    with CDNOW.open() as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(r[key]) for r in rows]) for key in ("x", "t_x", "T", "zbar")}


def test_cdnow_has_the_papers_customers(cdnow):
    assert len(cdnow["x"]) == 2357
    assert int((cdnow["x"] > 0).sum()) == 946


def test_bg_nbd_reproduces_the_published_parameters(cdnow):
    model = clv.fit_bg_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    got = clv._point(model, clv.BG_NBD_PARAMS)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
    for name, value in published.items():
        assert f"{got[name]:.2g}" == f"{value:.2g}", (name, got[name])
        assert got[name] == pytest.approx(value, rel=2e-3), name


def test_gamma_gamma_reproduces_the_published_parameters(cdnow):
    repeat = cdnow["x"] > 0
    model = clv.fit_gamma_gamma(cdnow["x"][repeat], cdnow["zbar"][repeat])
    got = clv._point(model, clv.GAMMA_GAMMA_PARAMS)
    published = {"p": 6.25, "q": 3.74, "v": 15.45}  # Fader & Hardie (2013)
    for name, value in published.items():
        assert f"{got[name]:.2g}" == f"{value:.2g}", (name, got[name])
        assert got[name] == pytest.approx(value, rel=5e-3), name


def test_predictions_agree_with_a_reference_maximum_likelihood_fit(cdnow):
    x, t_x, t = cdnow["x"], cdnow["t_x"], cdnow["T"]
    monetary = np.where(x > 0, cdnow["zbar"], 0.0)
    fit, predicted = clv.fit_and_predict(x, t_x, t, monetary, horizon_days=39)
    assert fit.fitted, fit.reason
    params = ref.fit_bg_nbd(x, t_x, t)
    assert params == pytest.approx((0.243, 4.414, 0.793, 2.426), rel=5e-3)  # the reference itself is right
    expected = ref.expected_purchases(params, 39, x, t_x, t)
    assert predicted.expected_purchases.sum() == pytest.approx(expected.sum(), rel=0.02)
    close = np.abs(predicted.p_alive - ref.p_alive(params, x, t_x, t)) <= 0.02
    assert close.mean() >= 0.95
    assert np.all(predicted.p_alive[x == 0] == 1.0)  # BG/NBD: no repeat purchase, no dropout observed
    # Gamma-Gamma conditional mean: a customer without repeats gets the population mean p·v/(q−1).
    g = fit.gamma_gamma
    assert predicted.expected_order_value[x == 0] == pytest.approx(g["p"] * g["v"] / (g["q"] - 1))


def test_too_few_repeat_customers_are_not_fitted():
    fit, predicted = clv.fit_and_predict(np.array([0.0, 1.0]), np.array([0.0, 3.0]), np.array([5.0, 9.0]),
                                         np.array([0.0, 20.0]), 365)
    assert not fit.fitted and predicted is None
    assert "repeat customers" in fit.reason


def test_distinct_rows_with_weights_fit_as_every_customer(cdnow):
    # The run fits each distinct input row once, weighted by its customers: the same likelihood,
    # so the same maximum as the fit on every customer row.
    x, t_x, t = cdnow["x"], cdnow["t_x"], cdnow["T"]
    rows, customer_row, counts = clv._distinct_rows(x, t_x, t)
    assert len(rows) < len(x) and counts.sum() == len(x)
    assert np.array_equal(rows[customer_row], np.column_stack([x, t_x, t]))
    every = clv._point(clv.fit_bg_nbd(x, t_x, t), clv.BG_NBD_PARAMS)
    weighted = clv._point(clv.fit_bg_nbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts), clv.BG_NBD_PARAMS)
    assert weighted == pytest.approx(every, rel=1e-4)

    repeat = x > 0
    spends, _, spend_counts = clv._distinct_rows(x[repeat], np.round(cdnow["zbar"][repeat]))
    assert len(spends) < int(repeat.sum())
    every = clv._point(clv.fit_gamma_gamma(x[repeat], np.round(cdnow["zbar"][repeat])), clv.GAMMA_GAMMA_PARAMS)
    weighted = clv._point(clv.fit_gamma_gamma(spends[:, 0], spends[:, 1], weights=spend_counts),
                          clv.GAMMA_GAMMA_PARAMS)
    assert weighted == pytest.approx(every, rel=1e-4)
