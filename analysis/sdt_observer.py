"""Responses of an equal-variance signal-detection observer: tables with a known d' and
criterion, for the tests of the analysis that assumes that observer (the caution split,
analysis/caution.py) and for `sketchlab bench analysis` (a million rows in seconds).

Not a model of how simulated participants answer (that is study/response_model.py, used by
`study simulate` and `plan`): the caution split can only be checked on data from the very
observer it assumes. The table is generated directly with numpy (not through the study app)
from the model `signal_detection` fits: per stroke level a sensitivity d' and, in the
with-"none" condition, one criterion, calibrated so the population rates match the paper
(36% with "none" and 76% without at 4 strokes; 87/97.9/99.3% with "none" at 8/16/32), plus
participant and image variation. Participant ids start with `sim-`, which the report
reads as "simulated".
"""

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.signal_detection import dprime_mafc, none_model_rates
from sketchlab.contracts import (
    ATTENTION,
    CONDITIONS,
    FOIL,
    NONE,
    SIMULATED_PREFIX,
    TEST,
    WITH_NONE,
    WITHOUT_NONE,
)
from sketchlab.reference import paper_numbers

DEFAULT_CLASSES = ("cat", "dog", "horse", "cow", "sheep")
FOIL_CLASS = "owl"


def paper_calibrated_model(
    levels=(4, 8, 16, 32), n_classes: int = 5
) -> tuple[dict[int, float], float]:
    """(d' per level, with-"none" criterion) reproducing the paper's rates with one criterion.

    The criterion is set so that the 4-stroke d' implied by 76% forced choice gives 36% with
    "none"; other levels take the d' that gives the paper's with-"none" rate at that criterion
    (levels the paper lacks are interpolated on log2 strokes)."""
    human = paper_numbers()["human_category_recognition"]
    with_none = {int(k): v for k, v in human[WITH_NONE].items()}
    d4 = dprime_mafc(human[WITHOUT_NONE]["4"], n_classes)
    criterion = optimize.brentq(
        lambda k: none_model_rates(d4, k, n_classes)["p_correct"] - with_none[4], -3.0, 8.0
    )
    known = sorted(with_none)
    dprimes = {}
    for level in levels:
        target = float(np.interp(np.log2(level), np.log2(known), [with_none[k] for k in known]))
        dprimes[level] = optimize.brentq(
            lambda d, target=target: (
                none_model_rates(d, criterion, n_classes)["p_correct"] - target
            ),
            0.0,
            12.0,
        )
    return dprimes, float(criterion)


def simulate_responses(
    n_trials: int = 1_000_000,
    n_participants: int = 20_000,
    *,
    classes=DEFAULT_CLASSES,
    levels=(4, 8, 16, 32),
    conditions=CONDITIONS,
    dprimes: dict[int, float] | None = None,
    criterion: float | None = None,
    participant_sd: float = 0.3,
    image_sd: float = 0.3,
    attention_per_participant: int = 2,
    foils_per_participant: int = 0,
    id_prefix: str = SIMULATED_PREFIX,
    seed: int = 0,
) -> pd.DataFrame:
    """A responses table (`sketchlab.contracts.RESPONSE_COLUMNS`) of `n_trials` test trials.

    Latin-square lists: every participant sees each image once, image j at level
    levels[(j + list) % n_levels]; conditions alternate between participants.
    About 1% of participants fail an attention check and 1% answer implausibly fast, so the
    exclusions have something to do. `dprimes`/`criterion` default to `paper_calibrated_model`.
    """
    rng = np.random.default_rng(seed)
    classes, levels = list(classes), list(levels)
    n_classes, n_levels = len(classes), len(levels)
    if dprimes is None or criterion is None:
        model = paper_calibrated_model(levels, n_classes)
        dprimes = dprimes or model[0]
        criterion = model[1] if criterion is None else criterion
    per_person = max(n_trials // n_participants, 1)
    person = np.repeat(np.arange(n_participants), per_person)[:n_trials]
    image = np.tile(np.arange(per_person), n_participants)[:n_trials]
    condition_of = np.arange(n_participants) % len(conditions)
    list_of = (np.arange(n_participants) // len(conditions)) % n_levels
    level_index = (image + list_of[person]) % n_levels
    true_index = image % n_classes
    level_dprime = np.array([dprimes[level] for level in levels])
    strength = (
        level_dprime[level_index]
        + rng.normal(0, participant_sd, n_participants)[person]
        + rng.normal(0, image_sd, per_person)[image]
    )
    evidence = rng.standard_normal((len(person), n_classes))
    evidence[np.arange(len(person)), true_index] += strength
    chosen = evidence.argmax(axis=1)
    with_none = np.array([c == WITH_NONE for c in conditions])[condition_of[person]]
    said_none = with_none & (evidence.max(axis=1) < criterion)
    response = np.array(classes, dtype=object)[chosen]
    response[said_none] = NONE
    correct = (~said_none & (chosen == true_index)).astype(np.int8)

    fast = rng.random(n_participants) < 0.01
    rt = rng.lognormal(np.log(1400), 0.45, len(person))
    rt[fast[person]] = rng.uniform(80, 250, int(fast[person].sum()))
    test = pd.DataFrame(
        {
            "participant_id": _ids(person, id_prefix),
            "condition": np.array(conditions, dtype=object)[condition_of[person]],
            "list_id": (list_of[person] + 1).astype(str),
            "trial_index": image + 1,
            "trial_type": TEST,
            "stimulus_id": np.char.add(
                np.char.add("img", image.astype(str)),
                np.char.add("-s", np.array(levels)[level_index].astype(str)),
            ),
            "image_id": np.char.add("img", image.astype(str)),
            "true_class": np.array(classes, dtype=object)[true_index],
            "n_strokes": np.array(levels)[level_index],
            "response": response,
            "correct": correct,
            "is_none": said_none.astype(np.int8),
            "rt_ms": rt.round(),
        }
    )
    extra = [test]
    if attention_per_participant:
        failing = rng.random(n_participants) < 0.01
        who = np.repeat(np.arange(n_participants), attention_per_participant)
        ok = ~(failing[who] & (np.arange(len(who)) % attention_per_participant == 0))
        attention = _side_trials(
            who, ATTENTION, classes[0], ok, condition_of, list_of, conditions, id_prefix
        )
        attention["trial_index"] += 1000
        attention["response"] = np.where(ok, classes[0], classes[1 % n_classes])
        attention["rt_ms"] = rng.lognormal(np.log(1400), 0.45, len(who)).round()
        extra.append(attention)
    if foils_per_participant and WITH_NONE in conditions:
        who = np.repeat(
            np.flatnonzero(np.array(conditions)[condition_of] == WITH_NONE), foils_per_participant
        )
        foil_level = np.array(levels)[rng.integers(0, n_levels, len(who))]
        foil_max = rng.standard_normal((len(who), n_classes)).max(axis=1)
        rejected = foil_max < criterion
        foils = _side_trials(
            who, FOIL, FOIL_CLASS, rejected, condition_of, list_of, conditions, id_prefix
        )
        foils["trial_index"] += 2000
        foils["n_strokes"] = foil_level
        foils["response"] = np.where(
            rejected,
            NONE,
            np.array(classes, dtype=object)[rng.integers(0, n_classes, len(who))],
        )
        foils["is_none"] = rejected.astype(np.int8)
        foils["rt_ms"] = rng.lognormal(np.log(1400), 0.45, len(who)).round()
        extra.append(foils)
    table = pd.concat(extra, ignore_index=True)
    table["study_id"] = "bench"
    table["session_id"] = table["participant_id"] + "-1"
    rotations = ["|".join(classes[i:] + classes[:i]) for i in range(n_classes)]
    rotation = np.array(rotations, dtype=object)[table["trial_index"].to_numpy() % n_classes]
    table["options_shown"] = np.where(
        table["condition"] == WITH_NONE, rotation + "|" + NONE, rotation
    )
    start = np.datetime64("2026-01-01T00:00:00", "ms") + (
        table["trial_index"].to_numpy() * 4000
    ).astype("timedelta64[ms]")
    table["started_at"] = np.datetime_as_string(start, unit="ms") + "Z"
    answered = start + table["rt_ms"].to_numpy().astype("timedelta64[ms]")
    table["answered_at"] = np.datetime_as_string(answered, unit="ms") + "Z"
    return table


def _ids(person: np.ndarray, prefix: str) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(person.astype(str), 6)).astype(object)


def _side_trials(
    who, kind, true_class, correct, condition_of, list_of, conditions, prefix
) -> pd.DataFrame:
    """Attention or foil rows for participants `who` (sorted index array), numbered 0, 1, ...
    within each participant; the caller sets responses, response times and index offsets."""
    position = np.arange(len(who)) - np.searchsorted(who, who)
    return pd.DataFrame(
        {
            "participant_id": _ids(who, prefix),
            "condition": np.array(conditions, dtype=object)[condition_of[who]],
            "list_id": (list_of[who] + 1).astype(str),
            "trial_index": position,
            "trial_type": kind,
            "stimulus_id": f"{kind}-{true_class}",
            "image_id": f"{kind}-{true_class}",
            "true_class": true_class,
            "n_strokes": np.nan,
            "correct": correct.astype(np.int8),
            "is_none": 0,
        }
    )
