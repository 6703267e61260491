"""The run folder's layout and the files a generation run writes into it.

    run.json                          settings, versions, models and checkpoint hashes, sessions
    stimuli.csv                       one row per image x level: the best seed's sketch
    svg/<image>_<n>strokes.svg        that sketch (224 canvas); png/ the same, drawn at 448 px
    seeds/<image>/<n>strokes_seed<s>.svg|.json   every seed's best iterate (.json last)
    curves/<image>/<n>strokes_seed<s>.csv        every iteration's loss terms (+ eval_* every 10)
    curves/<image>.png                eval loss per level and seed
    sheets/<image>.png                photo, then one sketch per level
    done/<image>.json                 written last for an image: its stimuli.csv rows

Every file is written atomically, and a marker (.json) is written after the files it
vouches for, so a run killed at any moment resumes from the markers and never mistakes a
half-written file for a finished one. run.json's settings are fixed for the folder's life:
a rerun with other settings is refused before anything is loaded or written.
"""

import dataclasses
import importlib.metadata
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
from matplotlib.figure import Figure

from sketchgen.optimize import SketchResult
from sketchgen.preprocess import FITTED
from sketchgen.raster import render
from sketchgen.settings import RunSettings, recorded_settings
from sketchgen.sheets import contact_sheet, save_png
from sketchgen.svg import read_svg, write_svg
from sketchlab.contracts import CANVAS, STIMULI_COLUMNS, stimulus_id
from sketchlab.errors import BadInput
from sketchlab.files import atomic_path, atomic_write

PNG_SCALE = 2  # stimuli PNGs are drawn at 2 x 224 px, like the reference's final_sketch.png
VERSIONED_PACKAGES = [
    "sketchlab", "torch", "torchvision", "open_clip_torch", "numpy", "kornia", "diffvg",
]  # fmt: skip


class RunFolder:
    """Paths and markers of one run folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # --- per sketch (one seed of one level of one image) ---
    def sketch_svg(self, image_id: str, n_strokes: int, seed: int) -> Path:
        return self.root / "seeds" / image_id / f"{n_strokes}strokes_seed{seed}.svg"

    def sketch_marker(self, image_id: str, n_strokes: int, seed: int) -> Path:
        return self.sketch_svg(image_id, n_strokes, seed).with_suffix(".json")

    def sketch_curve(self, image_id: str, n_strokes: int, seed: int) -> Path:
        return self.root / "curves" / image_id / f"{n_strokes}strokes_seed{seed}.csv"

    def sketch_done(self, image_id: str, n_strokes: int, seed: int) -> bool:
        return self.sketch_marker(image_id, n_strokes, seed).exists()

    def write_sketch(self, result: SketchResult, half_width: float, device: str) -> None:
        """SVG and curve first, then the marker that says both are complete."""
        job = result.job
        write_svg(
            self.sketch_svg(job.image_id, job.n_strokes, job.seed),
            result.points,
            torch.full((job.n_strokes,), half_width),
            (CANVAS, CANVAS),
        )
        with atomic_write(self.sketch_curve(job.image_id, job.n_strokes, job.seed)) as handle:
            result.curve.to_csv(handle, index=False, float_format="%.8g")
        marker = {
            "image_id": job.image_id,
            "n_strokes": job.n_strokes,
            "seed": job.seed,
            "loss": result.loss,
            "terms": result.terms,
            "best_iteration": result.best_iteration,
            "iterations": result.iterations,
            "seconds": result.seconds,
            "device": device,
        }
        with atomic_write(self.sketch_marker(job.image_id, job.n_strokes, job.seed)) as handle:
            json.dump(marker, handle, indent=1)

    def read_sketch(self, image_id: str, n_strokes: int, seed: int) -> dict:
        return json.loads(self.sketch_marker(image_id, n_strokes, seed).read_text())

    # --- per image ---
    def image_marker(self, image_id: str) -> Path:
        return self.root / "done" / f"{image_id}.json"

    def image_done(self, image_id: str) -> bool:
        return self.image_marker(image_id).exists()

    def finish_image(
        self,
        image: dict,
        photo: torch.Tensor,
        levels: list[int],
        seeds: list[int],
        labels: dict,
        renderer: str = "torch",
        fit: str = "squash",
    ) -> None:
        """Pick the best seed per level (minimum eval loss), write svg/, png/ (drawn by
        `renderer`), the curve plot and the contact sheet (`photo`: the target exactly as the
        optimiser saw it, its column saying how a non-square photo was fitted), then the
        image's marker with its stimuli.csv rows."""
        image_id = stem = image["image_id"]
        rows, sketches = [], []
        for n_strokes in levels:
            markers = [self.read_sketch(image_id, n_strokes, seed) for seed in seeds]
            best = min(markers, key=lambda m: (m["loss"], seeds.index(m["seed"])))
            svg_path = self.root / "svg" / f"{stem}_{n_strokes}strokes.svg"
            png_path = self.root / "png" / f"{stem}_{n_strokes}strokes.png"
            with atomic_write(svg_path) as handle:
                handle.write(self.sketch_svg(image_id, n_strokes, best["seed"]).read_text())
            drawing = _draw(svg_path, renderer)
            save_png(drawing, png_path)
            sketches.append(drawing)
            rows.append(
                {
                    "stimulus_id": stimulus_id(image_id, n_strokes),
                    "image_id": image_id,
                    "class": image["class"],
                    "n_strokes": n_strokes,
                    "seed": best["seed"],
                    "method": labels["method"],
                    "svg_path": svg_path.relative_to(self.root).as_posix(),
                    "png_path": png_path.relative_to(self.root).as_posix(),
                    "final_loss": best["loss"],
                    "best_iteration": best["best_iteration"],
                    "iterations": best["iterations"],
                    "loss_model": labels["loss_model"],
                    "preset": labels["preset"],
                    "seconds": sum(m["seconds"] for m in markers),
                    "device": best["device"],
                }
            )
        self._plot_curves(image_id, levels, seeds)
        contact_sheet(
            [[photo, *sketches]],
            self.root / "sheets" / f"{stem}.png",
            row_labels=[image_id],
            col_labels=[_photo_label(image, fit), *(f"{n} strokes" for n in levels)],
        )
        with atomic_write(self.image_marker(image_id)) as handle:
            json.dump(rows, handle, indent=1)

    def _plot_curves(self, image_id: str, levels: list[int], seeds: list[int]) -> None:
        figure = Figure(figsize=(3.2 * len(levels), 2.8))
        axes = figure.subplots(1, len(levels), squeeze=False, sharey=True)
        for axis, n_strokes in zip(axes[0], levels, strict=True):
            for seed in seeds:
                curve = pd.read_csv(self.sketch_curve(image_id, n_strokes, seed))
                scored = curve.dropna(subset=["eval_total"])
                axis.plot(scored["iteration"], scored["eval_total"], label=f"seed {seed}")
            axis.set_title(f"{n_strokes} strokes")
            axis.set_xlabel("iteration")
        axes[0][0].set_ylabel("eval loss (clean pair)")
        axes[0][-1].legend(fontsize="small")
        figure.suptitle(image_id)
        figure.tight_layout()
        with atomic_path(self.root / "curves" / f"{image_id}.png") as tmp:
            figure.savefig(tmp, dpi=80)

    # --- whole run ---
    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    def check_settings(self, settings: RunSettings) -> None:
        """Refuse to mix settings in one run folder, or to write into an unrelated folder."""
        if self.run_json.exists():
            try:
                previous = json.loads(self.run_json.read_text())["settings"]
            except (ValueError, KeyError) as error:
                raise BadInput(
                    f"{self.run_json} is not a readable run.json; use a new --out."
                ) from error
            # a setting added since the folder was made is taken at the value it was run with
            previous = recorded_settings(previous)
            current = json.loads(json.dumps(dataclasses.asdict(settings)))  # tuples as lists
            changed = [key for key in current if current[key] != previous.get(key)]
            if changed:
                key = changed[0]
                raise BadInput(
                    f"{self.root} was made with {key}={previous.get(key)!r}, not "
                    f"{current[key]!r}; rerun with the same settings or use a new --out."
                )
        elif self.root.exists() and any(not p.name.startswith(".") for p in self.root.iterdir()):
            raise BadInput(
                f"--out {self.root} is a folder with other files in it and no run.json; "
                "choose a new or empty folder."
            )

    def start_session(
        self,
        settings: RunSettings,
        models: dict,
        device: torch.device,
        executor: str,
        images_csv: str | Path,
    ) -> None:
        """run.json: the settings (fixed for the folder's life) plus one entry per session."""
        sessions = (
            json.loads(self.run_json.read_text())["sessions"] if self.run_json.exists() else []
        )
        versions = {}
        for package in VERSIONED_PACKAGES:
            try:
                versions[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                versions[package] = None
        sessions.append(
            {
                "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "images_csv": str(Path(images_csv).resolve()),
                "device": str(device),
                "device_name": torch.cuda.get_device_name(device)
                if device.type == "cuda"
                else platform.processor() or platform.machine(),
                "executor": executor,
                "python": platform.python_version(),
                "versions": versions,
                "models": models,
            }
        )
        with atomic_write(self.run_json) as handle:
            json.dump(
                {"settings": dataclasses.asdict(settings), "sessions": sessions}, handle, indent=1
            )

    def write_stimuli(self, image_ids: list[str]) -> pd.DataFrame:
        """Rebuild stimuli.csv from the finished images' markers, in images.csv order."""
        rows = []
        for image_id in image_ids:
            if self.image_done(image_id):
                rows.extend(json.loads(self.image_marker(image_id).read_text()))
        table = pd.DataFrame(rows, columns=list(STIMULI_COLUMNS))
        with atomic_write(self.root / "stimuli.csv") as handle:
            table.to_csv(handle, index=False)
        return table


def recorded_fit(root: str | Path) -> str:
    """How the run folder `root` fitted its photos to the canvas (run.json's settings.fit):
    "squash" where it has no run.json (a stimuli.csv made by hand) or predates the setting."""
    run_json = RunFolder(root).run_json
    if not run_json.is_file():
        return "squash"
    try:
        return json.loads(run_json.read_text())["settings"].get("fit", "squash")
    except (ValueError, KeyError, AttributeError) as error:
        raise BadInput(f"{run_json} is not a readable run.json ({error}).") from error


def _photo_label(image: dict, fit: str) -> str:
    """ "photo" for a square photo (every fit is the same), else e.g. "photo (squashed)"."""
    width, height = image.get("width"), image.get("height")
    return "photo" if width is not None and width == height else f"photo ({FITTED[fit]})"


def _draw(svg_path: Path, renderer: str) -> torch.Tensor:
    """The stimulus PNG: the SVG drawn at PNG_SCALE x its size (points and widths scaled)."""
    sketch = read_svg(svg_path)
    with torch.no_grad():
        return render(
            sketch.points * PNG_SCALE,
            sketch.half_widths * PNG_SCALE,
            (sketch.height * PNG_SCALE, sketch.width * PNG_SCALE),
            renderer=renderer,
        )
