"""Optional extras a command cannot do without (Ray for `--executor ray`, pydiffvg for
`--renderer diffvg`, R with lme4 for the benches and plans that fit the mixed model): when
missing, exit 2 with the line that installs them, before anything is written."""

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATA

QUICK = ["--method", "xdog", "--init", "edges", "--preset", "demo", "--iterations", "3"]
QUICK += ["--levels", "2", "--seeds", "0", "--device", "cpu", "--no-progress"]


def test_executor_ray_without_ray_exits_2_with_the_install_line(
    tmp_path, monkeypatch, run_sketchlab
):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is missing
    out = tmp_path / "run"
    images = TEST_DATA / "generate" / "images.csv"
    code, _, err = run_sketchlab("generate", images, "--out", out, *QUICK, "--executor", "ray")
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if not line.startswith("sketchlab: warning: ")]
    assert errors == [
        "sketchlab: --executor ray needs Ray, which is not installed: pip install "
        "'sketchlab[ray]' (or pip install ray), or use --executor local."
    ]
    assert not out.exists()


def test_renderer_diffvg_without_pydiffvg_writes_nothing(without_pydiffvg, tmp_path, run_sketchlab):
    out = tmp_path / "run"
    images = TEST_DATA / "generate" / "images.csv"
    code, _, err = run_sketchlab("generate", images, "--out", out, *QUICK, "--renderer", "diffvg")
    assert code == 2 and "needs pydiffvg" in err and "github.com/BachiLi/diffvg" in err
    assert not out.exists()


@pytest.fixture
def no_r(tmp_path, monkeypatch) -> None:
    """A PATH without Rscript (the Python interpreter's folder stays on it)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}{os.pathsep}{Path(sys.executable).parent}")


@pytest.fixture
def r_without_lme4(tmp_path, monkeypatch) -> None:
    """An `Rscript` that fails as R does when `library(lme4)` finds no lme4."""
    folder = tmp_path / "r"
    folder.mkdir()
    script = folder / "Rscript"
    script.write_text(
        "#!/bin/sh\necho \"Error in library(lme4) : there is no package called 'lme4'\" >&2\n"
        "exit 1\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{Path(sys.executable).parent}")


def test_bench_analysis_without_r_exits_2_with_the_install_line(no_r, tmp_path, run_sketchlab):
    out = tmp_path / "bench.json"
    code, stdout, err = run_sketchlab("bench", "analysis", "--trials", "0", "--json", out)
    assert code == 2 and stdout == ""
    assert err.strip() == (
        "sketchlab: bench analysis fits the mixed model in R, but R is not installed (Debian: "
        "apt-get install r-base-core r-cran-lme4); or pass --model-trials 0 to time the report "
        "alone."
    )
    assert not out.exists()


def test_bench_analysis_with_r_but_not_lme4_says_how_to_install_it(
    r_without_lme4, tmp_path, run_sketchlab
):
    out = tmp_path / "bench.json"
    code, _, err = run_sketchlab("bench", "analysis", "--trials", "0", "--json", out)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "R's lme4 package is not installed (Debian: apt-get install r-cran-lme4" in err
    assert "install.packages('lme4')" in err
    assert not out.exists()


def test_plan_from_a_pilot_without_lme4_exits_2_before_writing(
    r_without_lme4, tmp_path, run_sketchlab
):
    from analysis.sdt_observer import simulate_responses
    from study.synthetic import write_synthetic_study

    study_yaml = write_synthetic_study(tmp_path / "study", images_per_class=2)
    simulate_responses(2000, 40).to_csv(tmp_path / "pilot.csv", index=False)
    out = tmp_path / "plan"
    code, _, err = run_sketchlab(
        "plan", study_yaml, "--participants", "8", "--pilot", tmp_path / "pilot.csv", "--out", out
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--pilot fits the mixed model in R, but R's lme4 package is not installed" in err
    assert not out.exists()
