"""BG/NBD and Gamma-Gamma, fitted with pymc-marketing's `clv` module (docs/customers.md §4).

Both models are fitted by MAP with flat priors (`HalfFlat` on every parameter), which is maximum
likelihood: on the CDNOW sample of the BG/NBD paper it gives the published parameters (a test
checks it). pymc-marketing's default priors are informative and move `a` and `b` by 12 to 14 %.

pymc-marketing takes 10 s or more to import, so it is imported when a fit is made, never when a
DAG file is parsed.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

BG_NBD_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "v")
# Below this many repeat customers (frequency > 0) the models are not fitted: maximum likelihood
# on a handful of customers runs to the edge of the parameter space. The predicted columns are
# then NULL, and the run records why.
MIN_REPEAT_CUSTOMERS = 10


@dataclass
class Fit:
    """Fitted parameters of both models, or why there are none."""

    bg_nbd: dict[str, float] = field(default_factory=dict)
    gamma_gamma: dict[str, float] = field(default_factory=dict)
    reason: str | None = None  # set when the models were not fitted

    @property
    def fitted(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict:
        return {"bg_nbd": self.bg_nbd, "gamma_gamma": self.gamma_gamma, "reason": self.reason}


@dataclass
class Predictions:
    """Per customer, in the order of the inputs."""

    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_order_value: np.ndarray


def _flat(names) -> dict:
    from pymc_extras.prior import Prior

    return {name: Prior("HalfFlat") for name in names}


def _point(model, names) -> dict[str, float]:
    point = model.fit_result  # the MAP point: one chain of one draw
    return {name: float(point[name].values.mean()) for name in names}


def _quiet():
    """pymc and pytensor log every step of a fit and warn about ArviZ's coming changes."""
    for name in ("pymc", "pytensor", "pymc_marketing"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pymc_marketing")


def fit_bg_nbd(frequency, recency, t, weights=None):
    """The BG/NBD model fitted by maximum likelihood (MAP, flat priors); returns the pymc-marketing model.

    `weights` (optional): how many customers each row stands for, so that customers with equal
    inputs are fitted as one row; the likelihood is the same, the fit several times faster.
    """
    import pandas as pd

    _quiet()
    from pymc_marketing.clv import BetaGeoModel

    data = pd.DataFrame({"customer_id": np.arange(len(frequency)), "frequency": frequency,
                         "recency": recency, "T": t})
    model = BetaGeoModel(data=data, model_config=_flat(BG_NBD_PARAMS))
    if weights is not None:
        _weigh(model, "recency_frequency", np.asarray(weights, dtype=np.float64))
    model.fit(method="map", progressbar=False)
    return model


def _weigh(model, likelihood: str, weights: np.ndarray) -> None:
    """Count row i of a pymc-marketing model's data weights[i] times in its likelihood.

    `likelihood` names the library's per-row log-likelihood: its observed variable (BG/NBD) or
    its Potential (Gamma-Gamma). The model adds each row's term once; one more Potential adds the
    same library term (weights − 1) times more. No likelihood is written here.
    """
    import pymc as pm

    model.build_model()
    with model.model:
        variable = model.model[likelihood]
        if variable in model.model.observed_RVs:
            per_row = pm.logp(variable, model.model.rvs_to_values[variable])
        else:
            per_row = variable
        pm.Potential("weights", ((weights - 1.0) * per_row).sum())


def fit_gamma_gamma(frequency, monetary_value, weights=None):
    """The Gamma-Gamma model fitted by maximum likelihood on the customers given (all repeat buyers).

    `weights` (optional): how many customers each row stands for, as for `fit_bg_nbd`.
    """
    import pandas as pd

    _quiet()
    from pymc_marketing.clv import GammaGammaModel

    data = pd.DataFrame({"customer_id": np.arange(len(frequency)), "frequency": frequency,
                         "monetary_value": monetary_value})
    model = GammaGammaModel(data=data, model_config=_flat(GAMMA_GAMMA_PARAMS))
    if weights is not None:
        _weigh(model, "likelihood", np.asarray(weights, dtype=np.float64))
    model.fit(method="map", progressbar=False)
    return model


def _distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of the columns, the row of each input, and how many inputs each row has.

    (np.unique(axis=0) does the same, ten times slower: it sorts rows as opaque bytes.)
    """
    table = np.column_stack(columns)
    order = np.lexsort(columns[::-1])
    ordered = table[order]
    starts = np.ones(len(table), dtype=bool)
    starts[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    row = np.cumsum(starts) - 1
    input_row = np.empty(len(table), dtype=np.int64)
    input_row[order] = row
    return ordered[starts], input_row, np.bincount(row)


def _usable(params: dict[str, float]) -> bool:
    return all(math.isfinite(v) and v > 0 for v in params.values())


def fit_and_predict(
    frequency: np.ndarray, recency: np.ndarray, t: np.ndarray, monetary_value: np.ndarray, horizon_days: int
) -> tuple[Fit, Predictions | None]:
    """Fit both models on the customers given (days as the unit of time) and predict for each.

    BG/NBD is fitted on every customer; Gamma-Gamma on those with frequency > 0 and
    monetary_value > 0. The expected order value of a customer without repeat days is the
    Gamma-Gamma population mean (its conditional mean at frequency 0).
    """
    import pandas as pd

    repeat = (frequency > 0) & (monetary_value > 0)
    if int(repeat.sum()) < MIN_REPEAT_CUSTOMERS:
        return Fit(reason=f"{int(repeat.sum())} repeat customers, fewer than {MIN_REPEAT_CUSTOMERS}"), None
    # BG/NBD sees (frequency, recency, T) only, Gamma-Gamma (frequency, monetary value): customers
    # with equal inputs are fitted (and BG/NBD predicted) once, as one row weighted by their
    # number; a million customers have a few hundred thousand distinct rows of each.
    rows, customer_row, counts = _distinct_rows(frequency, recency, t)
    bg = fit_bg_nbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    spends, _, spend_counts = _distinct_rows(frequency[repeat], monetary_value[repeat])
    gg = fit_gamma_gamma(spends[:, 0], spends[:, 1], weights=spend_counts)
    fit = Fit(bg_nbd=_point(bg, BG_NBD_PARAMS), gamma_gamma=_point(gg, GAMMA_GAMMA_PARAMS))
    if not (_usable(fit.bg_nbd) and _usable(fit.gamma_gamma)) or fit.gamma_gamma["q"] <= 1:
        fit.reason = "the fit did not converge to usable parameters (Gamma-Gamma needs q > 1)"
        return fit, None
    distinct = pd.DataFrame({"customer_id": np.arange(len(rows)), "frequency": rows[:, 0],
                             "recency": rows[:, 1], "T": rows[:, 2]})
    spend = pd.DataFrame({"customer_id": np.arange(len(frequency)), "frequency": frequency,
                          "monetary_value": monetary_value})
    predictions = Predictions(
        p_alive=bg.expected_probability_alive(distinct).values.reshape(-1)[customer_row],
        expected_purchases=bg.expected_purchases(distinct, future_t=horizon_days).values.reshape(-1)[customer_row],
        expected_order_value=gg.expected_customer_spend(spend).values.reshape(-1),
    )
    return fit, predictions
