"""A reference maximum-likelihood fit of BG/NBD, written from the paper, to check the product's fit.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", equations 6 (likelihood),
10 (expected purchases) and P(alive) from Fader, Hardie & Lee (2008). Only the tests use it: the
product fits with pymc-marketing (docs/customers.md rule 9).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


def bg_nbd_loglik(params, x, t_x, t):
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bg_nbd(x, t_x, t) -> tuple[float, float, float, float]:
    """(r, alpha, a, b) by maximum likelihood (optimised on the log scale)."""
    x, t_x, t = (np.asarray(v, dtype=float) for v in (x, t_x, t))
    scale = max(float(t.max()), 1.0)  # alpha in units of the data, started near the scale of T
    result = minimize(lambda z: -bg_nbd_loglik(np.exp(z), x, t_x, t).sum(),
                      np.log([0.5, scale / 10, 1.0, 1.0]), method="Nelder-Mead",
                      options={"maxiter": 20000, "maxfev": 20000, "xatol": 1e-8, "fatol": 1e-8})
    return tuple(np.exp(result.x))


def p_alive(params, x, t_x, t):
    r, alpha, a, b = params
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(x > 0, a / (b + x - 1) * ((alpha + t) / (alpha + t_x)) ** (r + x), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(params, horizon, x, t_x, t):
    r, alpha, a, b = params
    ahead = 1 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1,
                                                                          horizon / (alpha + t + horizon))
    return (a + b + x - 1) / (a - 1) * ahead * p_alive(params, x, t_x, t)
