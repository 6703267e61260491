"""A computed report of a small simulated study, shared by the results and figure tests."""

import pytest

from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.figures import with_figures
from analysis.human_vs_clip import read_scores
from analysis.responses import read_responses
from analysis.results import ReportResults, compute_results
from analysis.synthetic import simulate_responses
from sketchlab.contracts import TEST
from tests.analysis.clip_scores import clip_scores_for


@pytest.fixture(scope="session")
def study_results(tmp_path_factory) -> ReportResults:
    """`compute_results` of 48 simulated participants (both conditions, foils, answer times)
    with CLIP scores of their sketches and photos; the population-averaged model and 100
    bootstrap draws keep it to seconds."""
    folder = tmp_path_factory.mktemp("results")
    trials = simulate_responses(1_200, 48, foils_per_participant=2, seed=4)
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
