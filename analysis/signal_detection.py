"""Sensitivity (d') versus caution (criterion) for m-alternative recognition with a "none" option.

Model (equal-variance Gaussian, Green & Dai 1991): on a trial with m class buttons the
observer has one evidence value per option, N(d', 1) for the true class and N(0, 1) for
each other class, and picks the largest. Forced choice (no "none" button) gives the m-AFC
accuracy `pc_mafc(d', m)`. With a "none" button the observer answers "none" when the
largest value is below a criterion k: a pure change of caution moves k and leaves d' as is.
So d' from the forced-choice condition and d' from the with-"none" condition are on one
scale and comparable; the gap in accuracy that the criterion explains is caution, not
recognition. Foil trials (true class not among the buttons, where "none" is right) measure
k directly (`none rate on foils = Phi(k)^m`); without them k and d' are both solved from
the target trials' accuracy and "none" rate alone, which leans harder on the model.

Every function takes scalars or arrays (broadcast together) and returns the same shape, so
the bootstrap fits thousands of resampled datasets in one call.
"""

import functools

import numpy as np
from scipy import special, stats

_SPAN = 8.0
"""The true-class value lies within d' +- 8 (the rest has probability < 1e-15)."""
_NODES = 121
"""Simpson nodes per integral (odd): error below 3e-7 for any d' in [0, 12], k in [-6, 12]."""
_SIMPSON = np.r_[1.0, np.tile([4.0, 2.0], (_NODES - 3) // 2), 4.0, 1.0] / 3.0
_UNIT = np.linspace(0.0, 1.0, _NODES)
_D_MAX = 12.0
_K_RANGE = (-6.0, 12.0)


def _integrals(dprime, m: int, criterion):
    """(P(true class above k and largest), its derivative in d'): integrals over x > k of
    phi(x - d') Phi(x)^(m-1) and of (x - d') phi(x - d') Phi(x)^(m-1)."""
    d, k = np.broadcast_arrays(np.asarray(dprime, float), np.asarray(criterion, float))
    low = np.clip(k, d - _SPAN, d + _SPAN)
    step = (d + _SPAN - low) / (_NODES - 1)
    u = (low - d)[..., None] + (d + _SPAN - low)[..., None] * _UNIT  # u = x - d'
    weight = np.exp(-0.5 * u * u) * _power(special.ndtr(u + d[..., None]), m - 1)
    weight /= np.sqrt(2 * np.pi)
    value = (weight @ _SIMPSON) * step
    slope = ((u * weight) @ _SIMPSON) * step
    return value, slope


def _power(base: np.ndarray, exponent: int) -> np.ndarray:
    """base ** exponent for a whole exponent by repeated squaring (several times faster than
    numpy's general power on large arrays)."""
    result = np.ones_like(base)
    while exponent:
        if exponent & 1:
            result *= base
        exponent >>= 1
        if exponent:
            base = base * base
    return result


def _plain(value):
    """0-d arrays back to floats, so scalar callers get scalars."""
    return float(value) if np.ndim(value) == 0 else value


def pc_mafc(dprime, m: int):
    """Forced-choice accuracy among m options for sensitivity d' (chance 1/m at d' = 0)."""
    return _plain(_integrals(dprime, m, -np.inf)[0])


def dprime_mafc(pc, m: int):
    """Invert `pc_mafc`: d' for accuracy `pc` among m options (0 at or below chance; NaN for
    NaN or m < 2). A table lookup refined by Newton steps, to 1e-9."""
    pc = np.asarray(pc, dtype=float)
    if m < 2:
        return _plain(np.full(pc.shape, np.nan))
    grid, table = _mafc_table(m)
    target = np.clip(np.where(np.isfinite(pc), pc, 0.5), table[0], min(table[-1], 1 - 1e-6))
    dprime = np.interp(target, table, grid)
    for _ in range(3):
        value, slope = _integrals(dprime, m, -np.inf)
        dprime = np.clip(dprime - (value - target) / np.maximum(slope, 1e-12), 0.0, _D_MAX)
    dprime = np.where(pc <= 1.0 / m, 0.0, dprime)
    return _plain(np.where(np.isfinite(pc), dprime, np.nan))


@functools.lru_cache(maxsize=16)
def _mafc_table(m: int) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(0.0, _D_MAX, 1201)
    return grid, _integrals(grid, m, -np.inf)[0]


def none_model_rates(dprime, criterion, m: int) -> dict:
    """Rates the with-"none" model predicts: target trials' accuracy and "none" rate, and the
    "none" rate on foil trials (no correct class among the m buttons)."""
    return {
        "p_correct": _plain(_integrals(dprime, m, criterion)[0]),
        "p_none": _plain(
            special.ndtr(np.subtract(criterion, dprime)) * special.ndtr(criterion) ** (m - 1)
        ),
        "p_none_foil": _plain(special.ndtr(np.asarray(criterion, float)) ** m),
    }


def fit_none_model(p_correct, p_none, m: int, p_none_foil=None, n_targets=1, n_foils=1) -> tuple:
    """(d', criterion k) of the with-"none" condition, fitted by least squares to its
    target-trial accuracy and "none" rate and, when there were foils, the foils' "none" rate
    (each rate weighted by the square root of its trial count, so a handful of foils cannot
    pin the criterion on their own). Levenberg-Marquardt with analytic derivatives, on all
    elements of the arrays at once; d' within [0, 12], k within [-6, 12]."""
    p_correct, p_none = np.broadcast_arrays(np.asarray(p_correct, float), np.asarray(p_none, float))
    shape = p_correct.shape
    observed = [p_correct.ravel(), p_none.ravel()]
    weights = [np.broadcast_to(np.sqrt(np.asarray(n_targets, float)), shape).ravel()] * 2
    if p_none_foil is not None:
        foil = np.broadcast_to(np.asarray(p_none_foil, float), shape).ravel()
        n_foil = np.broadcast_to(np.asarray(n_foils, float), shape).ravel()
        use = np.isfinite(foil) & (n_foil > 0)
        observed.append(np.where(use, foil, 0.0))
        weights.append(np.sqrt(np.where(use, n_foil, 0.0)))
    observed, weights = np.stack(observed, -1), np.stack(weights, -1)
    valid = np.isfinite(observed[:, :2]).all(-1) & (m >= 2)
    observed = np.where(np.isfinite(observed), observed, 0.0)
    m_fit = max(m, 2)
    start = np.clip(observed[:, 0] + observed[:, 1] / m_fit, 0, 1)
    d = np.maximum(dprime_mafc(start, m_fit), 0.1)
    k = _criterion_for_none_rate(d, observed[:, 1], m_fit)
    d, k = _levenberg_marquardt(d, k, m_fit, observed, weights)
    return _plain(np.where(valid, d, np.nan).reshape(shape)), _plain(
        np.where(valid, k, np.nan).reshape(shape)
    )


def _residuals(d, k, m: int, observed: np.ndarray, weights: np.ndarray):
    """Weighted (model - observed) rates and their derivatives in (d', k), per row."""
    correct, d_correct = _integrals(d, m, k)
    shared = special.ndtr(k) ** (m - 1)
    density_k = np.exp(-0.5 * k * k) / np.sqrt(2 * np.pi)
    density_kd = np.exp(-0.5 * (k - d) ** 2) / np.sqrt(2 * np.pi)
    rates = [correct, special.ndtr(k - d) * shared, special.ndtr(k) ** m]
    gradients = [
        (d_correct, -density_kd * shared),
        (
            -density_kd * shared,
            density_kd * shared
            + special.ndtr(k - d) * (m - 1) * special.ndtr(k) ** (m - 2) * density_k,
        ),
        (np.zeros_like(d), m * shared * density_k),
    ]
    used = observed.shape[1]
    rates = np.stack(rates[:used], -1)
    jacobian = np.stack([np.stack(pair, -1) for pair in gradients[:used]], -2)
    return weights * (rates - observed), weights[..., None] * jacobian


def _levenberg_marquardt(d, k, m: int, observed, weights, max_steps: int = 200):
    """Minimise the squared `_residuals` from (d, k), row by row until each row settles."""
    residual, jacobian = _residuals(d, k, m, observed, weights)
    cost = (residual**2).sum(-1)
    damping = np.full(d.shape, 1e-3)
    active = np.arange(d.size)
    for _ in range(max_steps):
        if not active.size:
            break
        normal = np.einsum("nij,nik->njk", jacobian[active], jacobian[active])
        gradient = np.einsum("nij,ni->nj", jacobian[active], residual[active])
        scaled = normal * (1 + damping[active, None, None] * np.eye(2)) + 1e-12 * np.eye(2)
        step = -np.linalg.solve(scaled, gradient[..., None])[..., 0]
        d_new = np.clip(d[active] + step[:, 0], 0.0, _D_MAX)
        k_new = np.clip(k[active] + step[:, 1], *_K_RANGE)
        residual_new, jacobian_new = _residuals(d_new, k_new, m, observed[active], weights[active])
        cost_new = (residual_new**2).sum(-1)
        better = cost_new < cost[active]
        moved = active[better]
        d[moved], k[moved], cost[moved] = d_new[better], k_new[better], cost_new[better]
        residual[moved], jacobian[moved] = residual_new[better], jacobian_new[better]
        damping[active] = np.where(better, damping[active] / 3, damping[active] * 4)
        settled = (np.abs(step).max(-1) < 1e-9) | (damping[active] > 1e10)
        active = active[~settled]
    return d, k


def yes_no_dprime(
    hit_rate: float, false_alarm_rate: float, n_hit: int = 0, n_fa: int = 0
) -> tuple[float, float]:
    """Yes/no d' = z(H) - z(F) and criterion c = -(z(H) + z(F)) / 2.

    Here a "yes" is committing to a class (not "none"): H on target trials, F on foils.
    Rates of 0 or 1 are moved in by 1/(2n) (Macmillan & Kaplan) when the counts are given.
    """

    def clip(rate: float, n: int) -> float:
        edge = 1.0 / (2 * n) if n > 0 else 1e-3
        return min(max(rate, edge), 1 - edge)

    z_hit = stats.norm.ppf(clip(hit_rate, n_hit))
    z_fa = stats.norm.ppf(clip(false_alarm_rate, n_fa))
    return float(z_hit - z_fa), float(-(z_hit + z_fa) / 2)


def known_rate(p_correct: float, p_wrong: float, n_classes: int) -> float:
    """High-threshold 'known' rate: correct answers minus the lucky guesses that the wrong
    answers reveal, p_correct - p_wrong / (n_classes - 1).

    Someone who does not know the class and still picks one is right 1 time in n_classes and
    wrong n_classes - 1 times, so the wrong answers estimate how often guesses were lucky.
    Under forced choice (p_wrong = 1 - p_correct) this is the classic (p - 1/m) / (1 - 1/m);
    with a "none" button it does not assume that people who do not know click at random:
    those who say "none" instead guess less, and the correction shrinks accordingly.
    """
    return p_correct - p_wrong / (n_classes - 1)


def _criterion_for_none_rate(dprime: np.ndarray, p_none: np.ndarray, m: int) -> np.ndarray:
    """k with Phi(k - d') Phi(k)^(m-1) = p_none (the "none" rate rises with k): bisection."""
    low, high = np.full(dprime.shape, _K_RANGE[0]), np.full(dprime.shape, _K_RANGE[1])
    for _ in range(40):
        middle = (low + high) / 2
        above = special.ndtr(middle - dprime) * special.ndtr(middle) ** (m - 1) > p_none
        high, low = np.where(above, middle, high), np.where(above, low, middle)
    return (low + high) / 2
