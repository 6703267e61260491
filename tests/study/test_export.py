"""The review table for Prolific (`study export --participants`, the admin page): attention
result, flags and suggested action per participant, on SQLite and PostgreSQL."""

from datetime import datetime, timezone

from study.export import review_table
from study.flow import ParticipantFlow
from tests.study.test_storage import answer_current, started

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_fast_answers_and_timeouts_are_flagged_and_the_right_ones_approved(config, storage):
    quick = config.model_copy(update={"min_answer_ms": 0, "time_limit_s": 10.0})
    careful = started(quick, storage, "CAREFUL")
    while careful.current_trial is not None:
        answer_current(careful)  # right, after 2 s
    hasty = started(quick, storage, "HASTY")
    n_fast = 0
    while (trial := hasty.current_trial) is not None:
        late = trial.trial_index == 1
        n_fast += not late
        answer_current(hasty, after_s=30.0 if late else 0.1)
    ParticipantFlow.open(quick, storage, "NO", "", T0).consent(False, T0)

    review = review_table(quick, storage).set_index("participant_id")
    assert review.loc["CAREFUL", ["attention", "flags", "action"]].tolist() == [
        "passed",
        "",
        "approve",
    ]
    assert review.loc["HASTY", "flags"] == f"timeouts=1;too_fast={n_fast}"
    assert review.loc["HASTY", "action"] == "review"
    assert review.loc["NO", ["attention", "action"]].tolist() == ["", "return"]
