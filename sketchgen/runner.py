"""`generate()`: images.csv -> a resumable run folder of sketches (see run_folder.py).

Order of work: check every input (settings.py; nothing is written before this passes),
load the method (batch_worker.py), start a session in run.json, then let an executor
(local_executor.py or ray_executor.py) finish the missing images, and rebuild stimuli.csv.
A rerun skips every sketch and image whose marker exists.
"""

from collections.abc import Sequence
from pathlib import Path

from sketchgen.batch_worker import load_method
from sketchgen.devices import parse_device
from sketchgen.local_executor import run_local
from sketchgen.methods import METHODS
from sketchgen.ray_executor import check_ray
from sketchgen.run_folder import RunFolder
from sketchgen.settings import read_images, resolve_settings
from sketchlab.errors import BadInput

EXECUTORS = ("local", "ray")
GPU_BATCH_SKETCHES = 96  # default --batch-sketches on a GPU; on CPU the method's own


def generate(
    images_csv: str | Path,
    out: str | Path,
    *,
    levels: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    preset: str | None = None,
    method: str | None = None,
    device: str = "auto",
    iterations: int | None = None,
    augmentations: int | None = None,
    init_svg: str | None = None,
    init: str | None = None,
    weights: str | None = None,
    saliency_weights: str | None = None,
    loss_model: str | None = None,
    renderer: str = "torch",
    fit: str | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = True,
    max_batch_sketches: int | None = None,
) -> Path:
    """Make sketches of every image in `images_csv` into the run folder `out` and return it.

    Resumable: rerun with the same arguments and it finishes only what is missing. `preset`
    None is the default preset (sketchgen/presets.json); `levels`, `seeds` and `method` None
    take the preset's; `init` "saliency" or "edges" (None: see resolve_settings), or
    `init_svg` a file of start strokes; `weights`/`saliency_weights` are local checkpoints (or
    "random" for a randomly initialised model); `renderer` "torch" or "diffvg" (pydiffvg,
    when installed) draws the sketches while optimising and the PNGs; `fit` how photos are
    fitted to the canvas (sketchgen.preprocess.FITS; None: the preset's); `max_batch_sketches`
    caps how many sketches optimise together (default on CPU: the method's
    `cpu_batch_sketches`; 96 on a GPU).
    """
    if executor not in EXECUTORS:
        raise BadInput(f"--executor {executor!r} is not known; use local or ray.")
    if executor == "ray":
        check_ray()
    if max_batch_sketches is not None and max_batch_sketches < 1:
        raise BadInput(f"--batch-sketches {max_batch_sketches} must be at least 1.")
    torch_device = parse_device(device)
    settings = resolve_settings(
        levels=levels,
        seeds=seeds,
        preset=preset,
        method=method,
        iterations=iterations,
        augmentations=augmentations,
        init_svg=init_svg,
        weights=weights,
        init=init,
        saliency_weights=saliency_weights,
        loss_model=loss_model,
        renderer=renderer,
        fit=fit,
    )
    images = read_images(images_csv, settings.fit)
    folder = RunFolder(out)
    folder.check_settings(settings)
    image_rows = images.to_dict("records")
    pending = [image for image in image_rows if not folder.image_done(image["image_id"])]
    image_ids = [image["image_id"] for image in image_rows]
    if not pending:
        folder.write_stimuli(image_ids)
        return folder.root
    loaded = load_method(settings, torch_device)
    folder.start_session(settings, loaded.models, torch_device, executor, images_csv)
    max_sketches = max_batch_sketches or (
        GPU_BATCH_SKETCHES
        if torch_device.type == "cuda"
        else METHODS.entry(settings.method).cpu_batch_sketches
    )
    if executor == "ray":
        from sketchgen.ray_executor import run_on_ray

        del loaded  # each Ray worker loads its own
        run_on_ray(
            pending,
            settings,
            folder,
            torch_device,
            ray_address=ray_address,
            max_sketches=max_sketches,
            progress=progress,
        )
    else:
        run_local(
            pending,
            settings,
            folder,
            torch_device,
            method=loaded,
            max_sketches=max_sketches,
            progress=progress,
        )
    folder.write_stimuli(image_ids)
    return folder.root
