"""Shared fixtures.

Services: on a developer machine a test that needs Chromium or PostgreSQL skips when the
service is missing; with CI=true it fails instead, so CI cannot pass without running it.
Tests marked `cuda` are the exception: CI has no GPU, so they always skip without one
(with the reason in pytest's summary) and run wherever CUDA is available
(`make gpu-check`, or `pytest -m cuda` on a GPU machine).
"""

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


CUDA_SKIP_REASON = "needs a CUDA GPU (torch.cuda.is_available() is False)"
# parametrize a test over devices: its CUDA case is a `cuda` test
CPU_AND_CUDA = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


def pytest_collection_modifyitems(config, items) -> None:
    """Skip the `cuda` tests when no CUDA GPU is visible."""
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked:
        return
    import torch

    if torch.cuda.is_available():
        return
    for item in marked:
        item.add_marker(pytest.mark.skip(reason=CUDA_SKIP_REASON))


def missing_service(reason: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if not path:
        missing_service("Chromium is not installed (apt-get install -y chromium)")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a real PostgreSQL database (SKETCHLAB_TEST_POSTGRES_URL, set by .ci/run)."""
    url = os.environ.get("SKETCHLAB_TEST_POSTGRES_URL")
    if not url:
        missing_service("SKETCHLAB_TEST_POSTGRES_URL is not set (see .ci/run)")
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(url).connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means no usable server
        missing_service(f"PostgreSQL at {url} is not reachable: {error}")
    return url
