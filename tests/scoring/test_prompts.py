"""Prompt sets are data (scoring/prompts.json) with stable hashes; the default sets are an
explicit list, so a new set is scored when asked for and never joins the default by itself."""

import json

import pytest
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

from scoring.prompts import ALL, PROMPT_SETS, PROMPTS_FILE, PromptSet, load_prompt_sets, text_hash
from sketchlab.errors import BadInput


def with_prompt_sets(tmp_path, monkeypatch, **sets) -> None:
    """The bundled prompts.json plus `sets` (name -> entry), as the registry's file."""
    data = json.loads(PROMPTS_FILE.read_text())
    data["prompt_sets"].update(sets)
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(PROMPT_SETS, "source", path)


@pytest.mark.parametrize("name", list(PROMPT_SETS))
def test_every_registered_set_has_templates_for_a_class_and_a_stable_hash(name):
    prompt_set = PROMPT_SETS[name]
    assert prompt_set.name == name and prompt_set.templates and prompt_set.description
    assert all("{c}" in template for template in prompt_set.templates)
    assert prompt_set.hash == text_hash(prompt_set.templates)
    assert PromptSet(name, (*prompt_set.templates, "a {c}.")).hash != prompt_set.hash


def test_the_hash_is_stable_across_versions():
    # Pinned: a changed hash function would make every old score look like another prompt set.
    assert text_hash(["a photo of a {c}."]) == "7533b9c5dfa1"
    assert text_hash(["a {c}.", "the {c}."]) != text_hash(["the {c}.", "a {c}."])


def test_imagenet80_is_open_clips_templates():
    templates = PROMPT_SETS["imagenet80"].templates
    assert templates == tuple(t("{c}") for t in OPENAI_IMAGENET_TEMPLATES)


def test_the_default_is_the_listed_sets_and_all_is_every_set():
    assert PROMPT_SETS.defaults and set(PROMPT_SETS.defaults) <= set(PROMPT_SETS)
    assert [p.name for p in load_prompt_sets()] == list(PROMPT_SETS.defaults)
    assert [p.name for p in load_prompt_sets([ALL])] == list(PROMPT_SETS)
    names = list(PROMPT_SETS)
    asked = [names[-1], names[0], names[-1]]
    assert [p.name for p in load_prompt_sets(asked)] == list(dict.fromkeys(asked))


def test_a_new_set_is_scored_when_asked_for_but_does_not_join_the_default(tmp_path, monkeypatch):
    defaults = [p.name for p in load_prompt_sets()]
    with_prompt_sets(tmp_path, monkeypatch, doodle={"description": "d", "templates": ["{c}!"]})
    assert [p.name for p in load_prompt_sets()] == defaults
    assert "doodle" in [p.name for p in load_prompt_sets([ALL])]
    assert load_prompt_sets(["doodle"])[0].templates == ("{c}!",)


def test_an_unknown_set_names_the_registered_ones():
    with pytest.raises(
        BadInput, match=f"--prompts 'drawings' is not known; use {PROMPT_SETS.words()}"
    ):
        load_prompt_sets(["drawings"])


@pytest.mark.parametrize(
    "entry", [{"templates": []}, {"templates": ["a photo."]}, {"templates": "a {c}"}, ["a {c}."]]
)
def test_a_bad_set_is_one_sentence_naming_file_and_set(entry, tmp_path, monkeypatch):
    with_prompt_sets(tmp_path, monkeypatch, broken=entry)
    with pytest.raises(BadInput, match=r"prompts.json: prompt set 'broken', field templates: "):
        load_prompt_sets()
