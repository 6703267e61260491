"""Holm's step-down adjustment for the per-level tests (one family per kind of test).

The same numbers as statsmodels' `multipletests(method="holm")` (tests check that), without
its `gc.collect()` on every call, which costs a large report or a simulation loop seconds.
"""

import numpy as np


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values, in the input's order; NaN stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    present = np.flatnonzero(np.isfinite(p))
    order = present[np.argsort(p[present], kind="stable")]
    scaled = p[order] * np.arange(len(order), 0, -1)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
