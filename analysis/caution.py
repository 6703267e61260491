"""How much of the with-vs-without gap is caution: the signal-detection split, from counts.

The forced-choice group's accuracy gives its d' (`signal_detection.dprime_mafc`); the
with-"none" group's accuracy, "none" rate and (with foils) foil "none" rate give its d' and
criterion (`fit_none_model`). The forced-choice accuracy that the with-"none" group's own d'
predicts, minus its accuracy, over the gap, is the caution share: 100% when the groups
recognise equally well and differ only in caution, 0% when the whole gap is recognition.
Everything takes arrays, so the same code computes the estimate and its bootstrap draws.
Values outside 0-100%, as estimate or as interval (`caution_outside`), mean the model does
not describe the answers; they are reported as they are (a misfit), never clipped.
`fit_check` compares the answer shares the fitted model predicts with the observed ones.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.signal_detection import dprime_mafc, fit_none_model, none_model_rates, pc_mafc


def caution_split(
    correct_without,
    trials_without,
    correct_with,
    none_with,
    trials_with,
    m_without: int,
    m_classes: int,
    foil_none=None,
    foil_trials=0,
) -> dict[str, np.ndarray]:
    """d' of both groups, the with-"none" criterion, the predicted forced-choice accuracy, the
    caution share and the rates the fitted model predicts, from (weighted) counts.

    `m_without`: buttons under forced choice; `m_classes`: class buttons with "none" (its
    buttons minus one). Rates of exactly 0 or 1 have no finite d', so they are moved half a
    trial inwards first (30/30 counts as 29.5/30); an answer kind never given counts half.
    """
    k_wo, n_wo, k_w, none_w, n_w = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (correct_without, trials_without, correct_with,
                                          none_with, trials_with))
    )  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy_without, accuracy_with = k_wo / n_wo, k_w / n_w
        dprime_without = dprime_mafc(np.minimum(accuracy_without, 1 - 0.5 / n_wo), m_without)
        answers = np.stack([k_w, n_w - k_w - none_w, none_w], -1)
        answers = np.where((answers <= 0).any(-1, keepdims=True), answers + 0.5, answers)
        share = answers / answers.sum(-1, keepdims=True)
        foil_rate = None
        if foil_none is not None:
            n_f = np.broadcast_to(np.asarray(foil_trials, float), k_w.shape)
            foil_rate = np.clip(np.asarray(foil_none, float) / n_f, 0.5 / n_f, 1 - 0.5 / n_f)
        dprime_with, criterion = fit_none_model(
            share[..., 0], share[..., 2], m_classes, foil_rate, n_targets=n_w,
            n_foils=foil_trials,
        )  # fmt: skip
        predicted_forced_choice = pc_mafc(dprime_with, m_without)
        caution = (predicted_forced_choice - accuracy_with) / (accuracy_without - accuracy_with)
    return {
        "dprime_without": dprime_without,
        "dprime_with": dprime_with,
        "criterion_with": criterion,
        "forced_choice_predicted_with": predicted_forced_choice,
        "caution_share": caution,
        **{
            f"predicted_{k}": v
            for k, v in none_model_rates(dprime_with, criterion, m_classes).items()
        },
    }


def fit_check(
    observed: dict[str, float], predicted: dict[str, float], trials: int, foils: int
) -> tuple[float, int, float]:
    """Pearson X^2, degrees of freedom and p of the answer composition the fitted model
    predicts (right / wrong / "none" on targets; "none" / committed on foils) against the
    observed one. The model has 2 parameters for 2 free target shares: without foils df = 0
    (it reproduces them by construction and cannot be checked); foils add 1 df."""
    p_correct, p_none = predicted["p_correct"], predicted["p_none"]
    expected = [trials * p_correct, trials * (1 - p_correct - p_none), trials * p_none]
    counts = [
        observed["correct"],
        trials - observed["correct"] - observed["none"],
        observed["none"],
    ]
    df = 0
    if foils:
        p_foil = predicted["p_none_foil"]
        expected += [foils * p_foil, foils * (1 - p_foil)]
        counts += [observed["foil_none"], foils - observed["foil_none"]]
        df = 1
    expected, counts = np.array(expected), np.array(counts, dtype=float)
    used = expected > 0
    chi2 = float((((counts - expected) ** 2)[used] / expected[used]).sum())
    return chi2, df, float(stats.chi2.sf(chi2, df)) if df else float("nan")


def caution_outside(share: float, low: float, high: float) -> str:
    """What of the caution share leaves 0-100% ('' when nothing does): a share the model
    cannot produce, as estimate or as interval, is a misfit, not a measurement."""
    if not 0 <= share <= 1:
        return "the estimate lies"
    if (np.isfinite(low) and low > 1) or (np.isfinite(high) and high < 0):
        return "the whole interval lies"
    if (np.isfinite(low) and low < 0) or (np.isfinite(high) and high > 1):
        return "its interval reaches"
    return ""
