"""Shared fixtures.

Services: on a developer machine a test that needs Chromium, Caddy, PostgreSQL or pydiffvg
skips when the service is missing; with CI=true it fails instead, so CI cannot pass without
running it. Tests marked `cuda` are the exception: CI has no GPU, so they always skip without
one (with the reason in pytest's summary) and run wherever CUDA is available
(`make gpu-check`, or `pytest -m cuda` on a GPU machine).
"""

import os
import shutil
import sys
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
def caddy_path() -> str:
    """The `caddy` reverse proxy (apt-get install -y caddy), run as a child process."""
    path = shutil.which("caddy")
    if not path:
        missing_service("Caddy is not installed (apt-get install -y caddy)")
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


@pytest.fixture(scope="session")
def r_lme4() -> str:
    """Rscript with lme4 (the report's mixed model; .ci/run installs both from apt)."""
    path = shutil.which("Rscript")
    if not path:
        missing_service("Rscript is not installed (apt-get install -y r-base-core r-cran-lme4)")
    import subprocess

    found = subprocess.run([path, "-e", "library(lme4)"], capture_output=True)
    if found.returncode != 0:
        missing_service("R's lme4 is not installed (apt-get install -y r-cran-lme4)")
    return path


@pytest.fixture(scope="session")
def pydiffvg() -> None:
    """pydiffvg is importable (.ci/run installs a prebuilt CPU wheel; docs/rasterizer.md)."""
    from sketchgen.diffvg_backend import diffvg_available

    if not diffvg_available():
        missing_service(
            "pydiffvg is not installed (build it from https://github.com/BachiLi/diffvg)"
        )


@pytest.fixture
def without_pydiffvg(monkeypatch) -> None:
    """`import pydiffvg` fails, as on a machine without it (whether or not this one has it)."""
    monkeypatch.setitem(sys.modules, "pydiffvg", None)


@pytest.fixture
def run_sketchlab(monkeypatch, capsys):
    """`sketchlab ARGS` in this process: returns (exit code, stdout, stderr)."""
    from sketchlab.cli import main

    def run(*args) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["sketchlab", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run
