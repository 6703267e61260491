"""Prompt sets are data (scoring/prompts.json) with stable hashes."""

import pytest
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

from scoring.prompts import PromptSet, load_prompt_sets
from sketchlab.errors import BadInput


def test_prompt_sets_are_data_with_stable_hashes():
    sets = {p.name: p for p in load_prompt_sets(["all"])}
    assert list(sets) == ["photo", "sketch", "imagenet80"]
    assert sets["photo"].templates == ("a photo of a {c}.",)
    assert sets["imagenet80"].templates == tuple(t("{c}") for t in OPENAI_IMAGENET_TEMPLATES)
    assert all("{c}" in t for s in sets.values() for t in s.templates)
    # Pinned: a changed hash means a changed prompt set, and old scores are not comparable.
    assert {n: s.hash for n, s in sets.items()} == {
        "photo": "7533b9c5dfa1",
        "sketch": "a09a60b9138f",
        "imagenet80": "331000b1f1c7",
    }
    edited = PromptSet("photo", ("a photo of the {c}.",))
    assert edited.hash != sets["photo"].hash
    assert [p.name for p in load_prompt_sets(["sketch", "photo", "sketch"])] == [
        "sketch",
        "photo",
    ]
    with pytest.raises(BadInput, match="unknown prompt set 'drawings'"):
        load_prompt_sets(["drawings"])
