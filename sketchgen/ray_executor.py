"""`--executor ray`: the same per-image work as the local executor (both call
`sketchgen.batch_worker`), spread over Ray workers.

One actor per GPU (or per CPU when the run is on CPU) loads the models once and then takes
images one at a time; each writes into the same run folder (so the folder must be on a file
system every worker sees, and every worker needs sketchlab installed). The markers make
this safe: an image is finished by exactly one worker, and a rerun resumes as usual.
"""

from collections.abc import Sequence

import torch

from sketchgen.batch_worker import load_method, process_images
from sketchgen.run_folder import RunFolder
from sketchgen.settings import RunSettings
from sketchlab.errors import BadInput

RAY_INSTALL = "pip install 'sketchlab[ray]'"


def check_ray() -> None:
    """`--executor ray` needs the optional Ray package: BadInput with the install line when it
    is missing (checked before anything is written)."""
    try:
        import ray  # noqa: F401
    except ImportError as error:
        raise BadInput(
            f"--executor ray needs Ray, which is not installed: {RAY_INSTALL} (or pip install "
            "ray), or use --executor local."
        ) from error


class _ImageWorker:
    """Runs on a Ray worker: loads the method once, then finishes one image per call."""

    def __init__(self, settings: RunSettings, root: str, device_type: str, max_sketches: int):
        self.settings = settings
        self.folder = RunFolder(root)
        self.device = torch.device("cuda" if device_type == "cuda" else "cpu")
        self.max_sketches = max_sketches
        self.method = load_method(settings, self.device)

    def run(self, image: dict) -> str:
        process_images(
            [image],
            self.settings,
            self.method,
            self.folder,
            self.device,
            max_sketches=self.max_sketches,
        )
        return image["image_id"]


def run_on_ray(
    pending: Sequence[dict],
    settings: RunSettings,
    folder: RunFolder,
    device: torch.device,
    *,
    ray_address: str | None,
    max_sketches: int,
    progress: bool = True,
) -> None:
    """Finish `pending` images on a Ray cluster: `ray_address` (e.g. "ray://head:10001" or
    "auto"), or a cluster already initialised in this process, or a new local one."""
    import ray
    from ray.util import ActorPool
    from rich.progress import Progress

    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=ray_address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise BadInput(
                f"--ray-address {ray_address}: cannot connect to Ray ({error})."
            ) from error
    try:
        resources = ray.cluster_resources()
        if device.type == "cuda":
            slots, options = int(resources.get("GPU", 0)), {"num_gpus": 1}
            if slots == 0:
                raise BadInput(
                    "--executor ray with a CUDA device, but the Ray cluster has no GPUs; "
                    "use --device cpu or add GPU workers."
                )
        else:
            slots, options = int(resources.get("CPU", 1)), {"num_cpus": 1}
        actor = ray.remote(**options)(_ImageWorker)
        workers = [
            actor.remote(settings, str(folder.root.resolve()), device.type, max_sketches)
            for _ in range(max(1, min(slots, len(pending))))
        ]
        pool = ActorPool(workers)
        with Progress(disable=not progress) as bar:
            task = bar.add_task(f"images on {len(workers)} Ray workers", total=len(pending))
            try:
                for _ in pool.map_unordered(
                    lambda worker, image: worker.run.remote(image), list(pending)
                ):
                    bar.advance(task)
            except ray.exceptions.RayError as error:
                cause = getattr(error, "cause", None)
                if isinstance(cause, BadInput):
                    raise BadInput(str(cause)) from error
                raise
        for worker in workers:
            ray.kill(worker)
    finally:
        if started_here:
            ray.shutdown()
