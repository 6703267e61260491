"""Free naming (study/trial_types/naming.py): the matcher, the settings, the naming condition in
the design, typing in the app (AppTest), the coding sheet and `study code`."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from sketchlab.errors import BadInput
from study.config import load_study
from study.design import trials_for
from study.flow import ParticipantFlow
from study.synthetic import write_synthetic_study
from study.trial_types.naming_match import NameMatcher
from tests.study.conftest import Study, page_text, prolific

CLASSES = ("cat", "car", "horse", "house", "tree", "bicycle", "mouse", "ice cream")
MATCHER = NameMatcher(CLASSES, {"cat": ["kitten", "kitty"], "bicycle": ["bike"]})


@pytest.mark.parametrize(
    "typed, class_name, kind",
    [
        ("cat", "cat", "exact"),
        ("  Cats. ", "cat", "exact"),
        ("a cat", "cat", "exact"),
        ("The Kitten!", "cat", "synonym"),
        ("kitties", "cat", "synonym"),
        ("Bikes", "bicycle", "synonym"),
        ("mice", "mouse", "exact"),
        ("Ice-Cream", "ice cream", "exact"),
        ("horses", "horse", "exact"),
        ("hosre", "horse", "fuzzy"),  # two letters swapped: one typo
        ("treee", "tree", "fuzzy"),
        ("bycicle", "bicycle", "fuzzy"),  # two typos from 7 letters
        ("cap", None, "unmatched"),  # 3-letter names take no typo: cat? car?
        ("hose", None, "unmatched"),  # one typo from horse and from house: undecided
        ("spaceship", None, "unmatched"),
    ],
)
def test_typed_names_match_their_class_or_nothing(typed, class_name, kind):
    found = MATCHER.match(typed)
    assert (found.class_name, found.kind) == (class_name, kind)


def _study_yaml(tmp_path, **changes):
    path = write_synthetic_study(tmp_path, naming=True)
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"conditions": ["with_none", "without_none"]}, "field 'naming' (the synonyms) and"),
        ({"naming": None}, "field 'conditions' lists naming; add a 'naming' section"),
        ({"naming": {"synonyms": {"lamp": ["light"]}}}, "names class 'lamp', which is not"),
        ({"naming": {"synonyms": {"boat": ["cup"]}}}, "lists 'cup', which already names 'cup'"),
        ({"conditions": ["naming", "free"]}, "'free' is not a condition"),
    ],
)
def test_bad_naming_settings_are_one_sentence(tmp_path, changes, message):
    path = _study_yaml(tmp_path, **changes)
    with pytest.raises(BadInput) as raised:
        load_study(path, verify_images=False)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_the_naming_condition_types_every_trial_of_the_same_lists(tmp_path):
    config = load_study(_study_yaml(tmp_path), verify_images=False)
    for list_id in range(len(config.catalog.levels)):
        named = trials_for(config, "P1", "naming", list_id)
        chosen = trials_for(config, "P1", "without_none", list_id)
        assert {t.trial_type for t in named} == {"practice", "naming", "attention"}, "no foils"
        assert all(t.page == "naming" and t.options == () for t in named)
        pairs = {(t.image_id, t.n_strokes) for t in named if t.trial_type == "naming"}
        assert pairs == {(t.image_id, t.n_strokes) for t in chosen if t.trial_type == "test"}


def _type_through(at, text: str | None) -> None:
    index = [b.key for b in at.button if b.key.startswith("naming-submit-")][0].split("-")[-1]
    if text is not None:
        at.text_input(key=f"name-{index}").input(text)
    at.button(key=f"naming-submit-{index}").click().run()
    feedback = [b.key for b in at.button if b.key.startswith("feedback-")]
    if feedback:
        at.button(key=feedback[0]).click().run()


def test_participants_type_names_and_each_is_matched(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, naming=True, conditions=())
    at = study.session(prolific("n1"))
    at.button(key="consent-yes").click().run()
    assert "Type what each sketch shows" in page_text(at)
    at.button(key="instructions-done").click().run()
    assert not [b for b in at.button if b.key.startswith("answer-")], "no class buttons"
    _type_through(at, None)  # nothing typed: nothing stored, asked again
    assert "Please type a name first" in page_text(at) and not study.rows("n1")
    trials = study.trials("n1")
    typed = {}
    for trial in trials:
        text = {0: f"{trial.true_class.upper()}S", 1: "blob"}.get(trial.trial_index % 3, "")
        text = text or (trial.correct_response if trial.dictated else f"a {trial.true_class}")
        typed[trial.trial_index] = text
        _type_through(at, text)
    assert study.storage.get_participant("n1").status == "completed"
    for index, row in study.rows("n1").items():
        assert row["typed_response"] == typed[index] and row["options_shown"] == ""
        if typed[index] == "blob":
            assert (row["response"], row["naming_match"], row["correct"]) == (
                "blob",
                "unmatched",
                0,
            )
        else:
            assert row["naming_match"] == "exact" and row["correct"] == 1


def _started(config, storage, pid) -> ParticipantFlow:
    flow = ParticipantFlow.open(config, storage, pid)
    flow.consent(True)
    flow.finish_instructions()
    return flow


def test_a_typed_check_fails_only_when_it_names_another_class(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, naming=True, conditions=(), max_attention_failures=0)
    for pid, answer, status in (
        ("u1", "squiggle", "completed"),
        ("w1", "tree", "failed_attention"),
    ):
        flow = _started(study.config, study.storage, pid)
        while (trial := flow.current_trial) is not None:
            shown = flow.shown_at(trial.trial_index)
            text = answer if trial.trial_type == "attention" else trial.true_class
            flow.answer(trial.trial_index, text, shown + pd.Timedelta(seconds=3))
        assert study.storage.get_participant(pid).status == status


def _coded(tmp_path, run_sketchlab, edit) -> tuple[int, str, str]:
    sheet = pd.read_csv(tmp_path / "out.coding.csv", dtype=str, keep_default_na=False)
    edit(sheet).to_csv(tmp_path / "coded.csv", index=False)
    return run_sketchlab("study", "code", tmp_path / "study.yaml", tmp_path / "coded.csv")


def test_the_coding_sheet_and_study_code(tmp_path, run_sketchlab):
    path = write_synthetic_study(tmp_path, naming=True, conditions=())
    config = load_study(path, verify_images=False)
    from study.storage import Storage

    storage = Storage(config.storage, config.study_id)
    answers = {"p1": "blob", "p2": "Blobs", "p3": "hosue", "p4": "spaceship"}
    try:
        for pid, odd in answers.items():
            flow = _started(config, storage, pid)
            while (trial := flow.current_trial) is not None:
                shown = flow.shown_at(trial.trial_index)
                text = (
                    odd
                    if trial.trial_type == "naming" and trial.true_class == "house"
                    else (trial.correct_response)
                )
                flow.answer(trial.trial_index, text, shown + pd.Timedelta(seconds=3))
    finally:
        storage.close()
    code, out, err = run_sketchlab("study", "export", path, "--out", tmp_path / "out.csv")
    assert code == 0, err and "out.coding.csv" in out
    sheet = pd.read_csv(tmp_path / "out.coding.csv", dtype=str, keep_default_na=False)
    assert list(sheet.columns) == ["answer", "status", "matched", "trials", "typed",
                                   "sketch_classes", "code"]  # fmt: skip
    by_answer = sheet.set_index("answer")
    assert by_answer.loc["blobs", "status"] == "unmatched" and by_answer.loc["blob", "code"] == ""
    assert by_answer.loc["hosue", ["status", "matched", "code"]].tolist() == [
        "fuzzy", "house", "house",
    ]  # fmt: skip
    assert "house ×" in by_answer.loc["blob", "sketch_classes"]

    def code_blob(sheet):
        sheet.loc[sheet["answer"] == "blob", "code"] = "house"
        sheet.loc[sheet["answer"] == "spaceship", "code"] = "none"
        return sheet

    code, out, err = _coded(tmp_path, run_sketchlab, code_blob)
    assert code == 0, err
    assert "coded 2 answers" in out and "'blobs'" not in out
    rows = pd.read_csv(tmp_path / "out.csv")  # before coding
    code, out, err = _coded(tmp_path, run_sketchlab, code_blob)
    assert code == 0 and "coded 0 answers" in out and "already had these codes" in out

    run_sketchlab("study", "export", path, "--out", tmp_path / "after.csv")
    after = pd.read_csv(tmp_path / "after.csv")
    blob = after[after["typed_response"] == "blob"]
    assert (blob["naming_match"] == "coded").all() and (blob["response"] == "house").all()
    assert (blob["correct"] == 1).all()
    spaceship = after[after["typed_response"] == "spaceship"]
    assert (spaceship["response"] == "spaceship").all() and (spaceship["correct"] == 0).all()
    assert len(after) == len(rows)

    def recode_blob(sheet):
        sheet.loc[sheet["answer"] == "blob", "code"] = "none"
        return sheet

    code, _, err = _coded(tmp_path, run_sketchlab, recode_blob)
    assert code == 2 and "was coded 'house' before" in err and "--replace" in err
    unchanged = pd.read_csv(tmp_path / "after.csv")
    run_sketchlab("study", "export", path, "--out", tmp_path / "after.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "after.csv"), unchanged)
    code, out, err = run_sketchlab("study", "code", path, tmp_path / "coded.csv", "--replace")
    assert code == 0 and "replaced earlier codes of 1 ('blob': house -> none" in out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.assign(code="kat"), "field 'code' 'kat' is neither one of the options"),
        (lambda s: s.drop(columns=["code"]), "missing column 'code'"),
        (lambda s: pd.concat([s, s.assign(answer="zzz", code="tree")]), "answer 'zzz' is not"),
    ],
)
def test_a_bad_coding_sheet_changes_nothing(tmp_path, run_sketchlab, edit, message):
    path = write_synthetic_study(tmp_path, naming=True, conditions=())
    config = load_study(path, verify_images=False)
    from study.storage import Storage

    storage = Storage(config.storage, config.study_id)
    flow = _started(config, storage, "p1")
    while (trial := flow.current_trial) is not None:
        flow.answer(
            trial.trial_index, "blob", flow.shown_at(trial.trial_index) + pd.Timedelta(2, "s")
        )
    storage.close()
    run_sketchlab("study", "export", path, "--out", tmp_path / "out.csv")
    code, _, err = _coded(tmp_path, run_sketchlab, edit)
    assert code == 2 and message in err and "coded.csv" in err
