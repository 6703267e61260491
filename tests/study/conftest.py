"""Fixtures of the study tests: the test study (tests/data/study) on a fresh SQLite file and
on the real PostgreSQL server, under a unique study_id each time."""

import uuid

import pytest

from study.config import load_study
from study.storage import Storage
from tests.conftest import TEST_DATA


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def config(storage_url):
    """The test study under a unique study_id, so tests sharing one PostgreSQL don't collide."""
    base = load_study(TEST_DATA / "study" / "study.yaml", storage=storage_url, verify_images=False)
    return base.model_copy(update={"study_id": f"t-{uuid.uuid4().hex[:12]}"})


@pytest.fixture
def storage(config):
    db = Storage(config.storage, config.study_id)
    yield db
    db.close()
