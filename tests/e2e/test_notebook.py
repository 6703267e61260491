"""notebooks/quickstart.ipynb: stored without outputs, and runs top to bottom on the CPU at a
tiny size (xdog, random CLIP weights) with its parameters injected after the cell tagged
`parameters`, as papermill does."""

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] for cell in code)
    assert all(cell.execution_count is None for cell in code)
    assert "widgets" not in notebook.metadata
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "pip" in code[0].source and "install" in code[0].source  # Colab: the first cell


@pytest.mark.slow
def test_the_notebook_runs_on_the_cpu_at_a_tiny_size(tmp_path, r_lme4):
    photos = tmp_path / "photos"
    for name in ("bird", "car", "flower"):
        (photos / name).mkdir(parents=True)
        for photo in sorted((REPO / "data" / "photos" / name).glob("*.jpg"))[:2]:
            shutil.copy(photo, photos / name / photo.name)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    position = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    injected = nbformat.v4.new_code_cell(
        f"PHOTOS = {str(photos)!r}\n"
        f"OUT = {str(tmp_path / 'out')!r}\n"
        'METHOD, PRESET, ITERATIONS = "xdog", "demo", 2\n'
        'SCORE_MODEL, SCORE_PRETRAINED = "ViT-tiny-32", "none"\n'
        "PARTICIPANTS, N_BOOT = 24, 50\n",
        metadata={"tags": ["injected-parameters"]},
    )
    notebook.cells.insert(position + 1, injected)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    out = tmp_path / "out"
    assert (out / "contact_sheet.png").is_file()
    assert (out / "scores.csv").is_file() and (out / "responses.csv").is_file()
    assert (out / "report" / "index.html").is_file()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    shown = [output.get("data", {}) for output in outputs]
    assert any("image/png" in data for data in shown)  # the contact sheet
    assert any("<iframe srcdoc=" in data.get("text/html", "") for data in shown)  # the report
    assert "device: cpu" in "".join(output.get("text", "") for output in outputs)
