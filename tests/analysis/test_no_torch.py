"""`analysis` never imports torch, nor do the parts of `scoring` the report uses: the report
runs where torch is not installed or too slow to import (docs/analysis.md)."""

import os
import pkgutil
import subprocess
import sys

import analysis
from tests.conftest import REPO

TORCH_FREE = [
    "analysis",
    *sorted(f"analysis.{module.name}" for module in pkgutil.iter_modules(analysis.__path__)),
    "scoring",
    "scoring.circularity",
    "scoring.prompts",
    "scoring.summaries",
]

CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    assert "torch" not in sys.modules, f"importing {name} imported torch"
"""


def test_analysis_and_the_reports_scoring_modules_never_import_torch():
    assert "analysis.report" in TORCH_FREE and "analysis.results" in TORCH_FREE
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", CHECK, *TORCH_FREE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
