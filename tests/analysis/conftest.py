"""A computed report of a small simulated study, shared by the results and figure tests."""

import pandas as pd
import pytest

from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.figures import with_figures
from analysis.human_vs_clip import read_scores
from analysis.responses import read_responses
from analysis.results import ReportResults, compute_results
from analysis.sdt_observer import simulate_responses
from sketchlab.contracts import TEST
from tests.analysis.clip_scores import clip_scores_for
from tests.analysis.rated_named import named, with_ratings


@pytest.fixture(scope="session")
def study_results(tmp_path_factory) -> ReportResults:
    """`compute_results` of 48 simulated participants (both conditions, foils, answer times)
    and 12 in the naming condition, every measured answer rated for confidence, with CLIP
    scores of their sketches and photos; the population-averaged model and 100 bootstrap
    draws keep it to seconds."""
    folder = tmp_path_factory.mktemp("results")
    trials = with_ratings(
        pd.concat(
            [simulate_responses(1_200, 48, foils_per_participant=2, seed=4), named(12, seed=5)],
            ignore_index=True,
        ),
        seed=6,
    )
    trials.to_csv(folder / "responses.csv", index=False)
    clip_scores_for(trials).to_csv(folder / "scores.csv", index=False)
    responses = read_responses(folder / "responses.csv")
    seen = responses.loc[responses["trial_type"] == TEST, "stimulus_id"].unique()
    scores = read_scores(folder / "scores.csv", stimuli_ids=[str(s) for s in seen])
    (folder / "report").mkdir()
    rules = ExclusionRules()
    return with_figures(
        compute_results(
            responses,
            apply_exclusions(responses, rules),
            folder / "report",
            rules=rules,
            responses_path=folder / "responses.csv",
            scores=scores,
            n_boot=100,
            model_exact_max_trials=0,
        ),
        folder / "report",
    )
