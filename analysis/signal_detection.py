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
"""

import numpy as np
from scipy import optimize, stats

_LOWEST, _HIGHEST, _POINTS = -10.0, 20.0, 6001


def _integral_above(dprime: float, m: int, k: float) -> float:
    """P(true-class value > k and is the largest) = integral_k^inf phi(x-d') Phi(x)^(m-1) dx."""
    grid = np.linspace(max(k, _LOWEST), _HIGHEST, _POINTS)
    weights = stats.norm.pdf(grid - dprime) * stats.norm.cdf(grid) ** (m - 1)
    return float(np.trapezoid(weights, grid))


def pc_mafc(dprime: float, m: int) -> float:
    """Forced-choice accuracy among m options for sensitivity d' (chance 1/m at d' = 0)."""
    return _integral_above(dprime, m, -np.inf)


def dprime_mafc(pc: float, m: int) -> float:
    """Invert `pc_mafc`: d' for accuracy `pc` among m options (0 at or below chance)."""
    if m < 2 or not np.isfinite(pc):
        return float("nan")
    if pc <= 1.0 / m:
        return 0.0
    pc = min(pc, 1 - 1e-6)
    return float(optimize.brentq(lambda d: pc_mafc(d, m) - pc, 0.0, 12.0, xtol=1e-6))


def none_model_rates(dprime: float, criterion: float, m: int) -> dict[str, float]:
    """Rates the with-"none" model predicts: target trials' accuracy and "none" rate, and the
    "none" rate on foil trials (no correct class among the m buttons)."""
    return {
        "p_correct": _integral_above(dprime, m, criterion),
        "p_none": float(stats.norm.cdf(criterion - dprime) * stats.norm.cdf(criterion) ** (m - 1)),
        "p_none_foil": float(stats.norm.cdf(criterion) ** m),
    }


def fit_none_model(
    p_correct: float,
    p_none: float,
    m: int,
    p_none_foil: float | None = None,
    n_targets: int = 1,
    n_foils: int = 1,
) -> tuple[float, float]:
    """(d', criterion k) of the with-"none" condition, fitted by least squares to its
    target-trial accuracy and "none" rate and, when there were foils, the foils' "none" rate
    (each rate weighted by the square root of its trial count, so a handful of foils cannot
    pin the criterion on their own)."""
    if m < 2 or not (np.isfinite(p_correct) and np.isfinite(p_none)):
        return float("nan"), float("nan")
    use_foils = p_none_foil is not None and np.isfinite(p_none_foil) and n_foils > 0
    weights = np.sqrt([n_targets, n_targets] + ([n_foils] if use_foils else []), dtype=float)

    def residual(params: np.ndarray) -> np.ndarray:
        rates = none_model_rates(params[0], params[1], m)
        errors = [rates["p_correct"] - p_correct, rates["p_none"] - p_none]
        if use_foils:
            errors.append(rates["p_none_foil"] - p_none_foil)
        return weights * np.array(errors)

    start = np.array([max(dprime_mafc(p_correct + p_none / m, m), 0.1), 0.5])
    fit = optimize.least_squares(
        residual, start, bounds=([0.0, -6.0], [12.0, 12.0]), xtol=1e-12, ftol=1e-12, gtol=1e-12
    )
    return float(fit.x[0]), float(fit.x[1])


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
