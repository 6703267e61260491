"""The bundled example study runs as shipped: `study check` accepts it and its stimuli."""

import subprocess
import sys

from tests.conftest import REPO


def test_example_study_checks_against_the_bundled_stimuli(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sketchlab",
            "study",
            "check",
            str(REPO / "data" / "study.yaml"),
            "--storage",
            f"sqlite:///{tmp_path / 'check.db'}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "cells (8)" in result.stdout
