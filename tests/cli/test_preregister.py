"""`sketchlab preregister`: the OSF/AsPredicted fields, generated from the analysis's own
rules and models (a changed rule changes the document; the rules and terms are exactly the
report's), the planned sample justified by `plan --json`, bad input refused."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

import analysis.exclusions
from analysis.compare import describe_gap
from sketchlab.preregistration import HEADLINE_INTERVAL
from tests.conftest import REPO

EXAMPLE = REPO / "data" / "study.yaml"
SECTIONS = [
    "## 1. Study information",
    "**Hypotheses.**",
    "## 2. Design plan",
    "## 3. Sampling plan",
    "**Sample size rationale.**",
    "**Stopping rule.**",
    "## 4. Variables",
    "## 5. Analysis plan",
    "**Statistical models.**",
    "**Inference criteria.**",
    "**Data exclusion.**",
    "## 6. AsPredicted",
]


def study_copy(tmp_path, **changes):
    """The example study.yaml in `tmp_path` (its stimuli by absolute path), with changes."""
    config = yaml.safe_load(EXAMPLE.read_text())
    config["stimuli"] = str(EXAMPLE.parent / config["stimuli"])
    for key, value in changes.items():
        target = config
        *parents, last = key.split(".")
        for parent in parents:
            target = target[parent]
        target[last] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def plan_json(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    study = study_copy(folder, target_per_cell=10)
    subprocess.run(
        [sys.executable, "-m", "sketchlab", "plan", str(study), "--participants", "40", "80"]
        + ["--replications", "20", "--out", str(folder / "plan"), "--json"]
        + [str(folder / "plan.json")],
        check=True,
        capture_output=True,
    )
    return folder / "plan.json"


def test_the_document_has_the_template_fields_and_the_plan_for_the_planned_sample(
    tmp_path, plan_json, run_sketchlab, r_lme4
):
    study = study_copy(tmp_path, target_per_cell=10)
    out = tmp_path / "prereg.md"
    code, stdout, err = run_sketchlab("preregister", study, "--plan", plan_json, "--out", out)
    assert code == 0, err
    text = out.read_text()
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "80 participants (target_per_cell 10 x 8 cells)" in text
    plan = json.loads(plan_json.read_text())
    planned = [row for row in plan["rows"] if row["participants"] == 80]
    for row in planned:
        assert f"| 80 | {row['n_strokes']} | {row['accuracy_without']:.3g} |" in text
    assert "| 40 |" not in text  # only the planned size
    assert (
        "`correct ~ 0 + level4 + level8 + level16 + level32 + level4:with_none + level8:with_none"
        " + level16:with_none + level32:with_none + (1 | participant) + (1 + with_none | image)`"
    ) in text
    assert "lme4::glmer" in text and "Holm" in text
    assert "**H1" in text and "**H2" in text
    assert "comparison.csv `gap_low` to `gap_high`" in text


def test_rules_and_terms_are_exactly_the_reports(tmp_path, run_sketchlab, r_lme4):
    """The analysis run the document announces, on simulated answers: every exclusion rule
    of the report's exclusions.csv and every model term with its meaning is in it."""
    study = study_copy(tmp_path, target_per_cell=5, time_limit_s=20)
    db = f"sqlite:///{tmp_path / 'answers.db'}"
    assert run_sketchlab("study", "simulate", study, "-n", "40", "--storage", db)[0] == 0
    responses = tmp_path / "responses.csv"
    assert run_sketchlab("study", "export", study, "--out", responses, "--storage", db)[0] == 0
    report = tmp_path / "report"
    code, _, err = run_sketchlab(
        "analyze", responses, "--study", study, "--out", report, "--n-boot", "50"
    )
    assert code == 0, err
    code, _, err = run_sketchlab("preregister", study, "--out", tmp_path / "prereg.md")
    assert code == 0, err
    text = (tmp_path / "prereg.md").read_text()
    exclusions = pd.read_csv(report / "exclusions.csv")
    for rule, setting in zip(exclusions["rule"], exclusions["setting"], strict=True):
        assert f"**{rule}**: {setting}" in text
    assert "within the time limit of 20 s" in text
    terms = pd.read_csv(report / "mixed_model.csv")
    for model, term, meaning in zip(terms["model"], terms["term"], terms["meaning"], strict=True):
        assert f"| {model} | {term} | {meaning} |" in text


def test_a_changed_rule_changes_the_document(tmp_path, monkeypatch, run_sketchlab, r_lme4):
    def document(study, name):
        code, _, err = run_sketchlab("preregister", study, "--out", tmp_path / name)
        assert code == 0, err
        return (tmp_path / name).read_text()

    before = document(study_copy(tmp_path, target_per_cell=4), "before.md")
    assert "**failed attention checks**: more than 1 wrong" in before

    stricter = study_copy(tmp_path, target_per_cell=4, **{"attention.max_failures": 0})
    assert "**failed attention checks**: more than 0 wrong" in document(stricter, "stricter.md")

    real = analysis.exclusions.apply_exclusions

    def with_a_new_rule(*args, **kwargs):
        result = real(*args, **kwargs)
        table = result.table.copy()
        table.loc[len(table)] = ["looked away", "more than 2 s off the page", 0, 0]
        return analysis.exclusions.ExclusionResult(
            result.trials, table, result.sessions_total, result.sessions_included
        )

    monkeypatch.setattr(analysis.exclusions, "apply_exclusions", with_a_new_rule)
    changed = document(study_copy(tmp_path, target_per_cell=4), "changed.md")
    assert "**looked away**: more than 2 s off the page" in changed
    assert "looked away" not in before


def test_the_headline_interval_named_is_the_one_the_report_decides_by():
    """describe_gap says "cannot tell" exactly when HEADLINE_INTERVAL includes zero, whatever
    the trial-level interval says."""
    low, high = HEADLINE_INTERVAL
    row = {
        "n_strokes": 4, "difference": 0.2, "diff_low": 0.1, "diff_high": 0.3,
        "accuracy_without": 0.7, "accuracy_with": 0.5, "none_rate_with": 0.3,
        "committed_accuracy_with": 0.7, "caution_share": 0.5, "caution_boot_low": 0.2,
        "caution_boot_high": 0.8, "dprime_with": 1.0, "dprime_without": 1.2,
        "forced_choice_predicted_with": 0.6, "criterion_with": 0.5, "n_foils": 0,
    }  # fmt: skip
    assert "cannot tell" in describe_gap(pd.Series({**row, low: -0.05, high: 0.4}))
    assert "cannot tell" not in describe_gap(pd.Series({**row, low: 0.05, high: 0.4}))


@pytest.mark.parametrize(
    "problem", ["no sample", "other design", "size not planned", "not json", "out is a folder"]
)
def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path, plan_json, run_sketchlab, problem):
    study = study_copy(tmp_path, target_per_cell=10)
    args = ["--plan", plan_json]
    if problem == "no sample":
        study, args = study_copy(tmp_path), []
        message = "field 'target_per_cell' is not set"
    elif problem == "other design":
        study = study_copy(tmp_path, target_per_cell=10, levels=[4, 8])
        message = "made for another design"
    elif problem == "size not planned":
        study = study_copy(tmp_path, target_per_cell=12)
        message = "not the planned sample of 96"
    elif problem == "not json":
        broken = tmp_path / "plan.json"
        broken.write_text("{not json")
        args, message = ["--plan", broken], "cannot be read as plan.json"
    else:
        (tmp_path / "prereg.md").mkdir()
        message = "is a folder; name the file to write"
    out = tmp_path / "prereg.md"
    code, _, err = run_sketchlab("preregister", study, *args, "--out", out)
    assert code == 2, err
    assert message in err and err.count("\n") == 1
    assert not out.is_file()


def test_plan_json_that_names_a_folder_is_refused_before_planning(tmp_path, run_sketchlab):
    study = study_copy(tmp_path, target_per_cell=10)
    (tmp_path / "plan.json").mkdir()
    code, _, err = run_sketchlab(
        "plan", study, "--participants", "40", "--out", tmp_path / "plan", "--json",
        tmp_path / "plan.json",
    )  # fmt: skip
    assert code == 2
    assert "--json" in err and "is a folder" in err and err.count("\n") == 1
    assert not (tmp_path / "plan").exists()
