"""`--executor local` (the default): this process finishes the images in batches, with a
progress display. `ray_executor.py` does the same work spread over Ray workers; both call
`sketchgen.batch_worker`."""

import time
from collections.abc import Sequence

import torch

from sketchgen.batch_worker import LoadedMethod, process_images
from sketchgen.run_folder import RunFolder
from sketchgen.settings import RunSettings


def run_local(
    pending: Sequence[dict],
    settings: RunSettings,
    folder: RunFolder,
    device: torch.device,
    *,
    method: LoadedMethod,
    max_sketches: int,
    progress: bool = True,
) -> None:
    """Finish `pending` images in batches of up to `max_sketches` sketches (whole images:
    all levels x seeds of an image go in the same batch)."""
    per_image = len(settings.levels) * len(settings.seeds)
    images_per_batch = max(1, max_sketches // per_image)
    batches = [pending[i : i + images_per_batch] for i in range(0, len(pending), images_per_batch)]
    with GenerationProgress(len(pending), settings, enabled=progress) as bar:
        for batch in batches:
            bar.start_batch(batch)
            process_images(
                batch,
                settings,
                method,
                folder,
                device,
                max_sketches=max_sketches,
                on_step=bar.step,
                on_image=lambda _: bar.image_done(),
            )


class GenerationProgress:
    """Rich progress: images done, and sketch-iterations of the current batch with rate/ETA."""

    def __init__(self, n_images: int, settings: RunSettings, *, enabled: bool = True):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.settings = settings
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not enabled,
        )
        self.images = self.progress.add_task("images", total=n_images, rate="")
        self.iterations = self.progress.add_task("sketch-iterations", total=1, rate="")
        self.started = time.perf_counter()
        self.done = 0

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start_batch(self, images: Sequence[dict]) -> None:
        names = ", ".join(str(image["image_id"]) for image in images[:3])
        names += "" if len(images) <= 3 else f" +{len(images) - 3}"
        levels = " ".join(map(str, self.settings.levels))
        total = len(images) * len(self.settings.levels) * len(self.settings.seeds)
        self.progress.reset(
            self.iterations,
            total=total * self.settings.iterations,
            rate="",
            description=f"{names}: levels {levels} x {len(self.settings.seeds)} seeds",
        )
        self.started, self.done = time.perf_counter(), 0

    def step(self, n_running: int) -> None:
        self.done += n_running
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.iterations, advance=n_running, rate=f"{rate:.1f} it/s")

    def image_done(self) -> None:
        self.progress.advance(self.images)
