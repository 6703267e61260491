"""`make gpu-check`: every GPU check in one command, on a CUDA machine without network, in
about 5 minutes on an H100/H200; one JSON and one log come back.

    python3 -m sketchlab.bench.gpu_check [--out DIR] [--wheels .whl] [--dry-run]
    python3 -m sketchlab.bench.gpu_check --download-wheels .whl   # `make gpu-wheels`

Steps, each a subprocess under its own time cap (one that hangs or crashes leaves the
others' figures), with its output appended to DIR/gpu-check.log:

1. install: the carried wheels (`.whl/`, made by `make gpu-wheels` on a machine with
   network) into a throwaway folder put first on PYTHONPATH, then import what they provide;
2. cuda_tests: `pytest -m cuda` on the test files that mark `cuda` tests;
3. bench_raster: `sketchlab bench raster --device cuda` (reference scenes, batch of 96);
4. bench_generate: `sketchlab bench generate --device cuda` (50 timed steps per batch,
   extrapolated; bf16 agreement on the bundled photos; the largest batch that fits);
5. bench_score: `sketchlab bench score --device cuda` (batch 256, float16 autocast).

DIR/gpu-check.json holds the environment, each step's status, seconds and figures, and the
GPU goals with `met` true/false; it is rewritten after every step, so a run cut short still
reports. DIR defaults to $OUT (the device tool's output folder), else runs/gpu-check.

--dry-run runs the same steps on the device there is (the CPU in CI) at tiny sizes, and
installs the wheels, if any, for the GPU machine's platform (CPython 3.12, manylinux
x86-64) into a throwaway folder without importing them: it proves the plumbing; its
figures mean nothing. This module uses the standard library only, so it runs before the
wheels are installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from sketchlab.files import atomic_write

REPO = Path(__file__).resolve().parents[2]
# Distributions the GPU machine's Python lacks (its package list: the device tool's KINDS.md),
# carried as wheels at the versions installed where `make gpu-wheels` runs.
CARRIED = (
    "open_clip_torch",
    "ftfy",
    "wcwidth",
    "kornia",
    "kornia_rs",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "typing_extensions",
)
CARRIED_IMPORTS = "open_clip, kornia, pydantic, ftfy"
WHEELS_LIMIT_MIB = 40  # the device tool carries 64 MiB with the working tree
DEVICE_PYTHON = "3.12"
DEVICE_PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)
BUDGET_SECONDS = 290
DRY_RUN_SLACK = 4  # a dry run proves plumbing, not speed: its caps and budget are 4x longer
STEP_CAPS = {  # seconds; a later step keeps at least MIN_STEP_SECONDS of the budget
    "install": 40,
    "cuda_tests": 130,
    "bench_raster": 30,
    "bench_generate": 140,
    "bench_score": 50,
}
MIN_STEP_SECONDS = 20
OUTPUT_TAIL = 4000  # characters of a failed step's output kept in the JSON
GOALS = {
    "ladder_seconds_paper": ("<=", 60.0),
    "raster_speedup_vs_diffvg_cpu_geometric_mean": (">=", 100.0),
    "score_throughput_over_bare_encode_image": (">=", 0.9),
    "fast_bf16_gradient_cosine_mean": (">=", 0.99),
    "fast_bf16_eval_loss_relative_difference_max": ("<=", 0.02),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON and log")
    parser.add_argument("--wheels", type=Path, default=REPO / ".whl", help="carried wheels")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes, any device")
    parser.add_argument("--budget", type=float, default=None, help="seconds in all")
    parser.add_argument(
        "--download-wheels", type=Path, default=None, metavar="DIR", help="fetch wheels, stop"
    )
    args = parser.parse_args(argv)
    if args.download_wheels:
        return download_wheels(args.download_wheels)
    out = args.out or Path(os.environ.get("OUT") or REPO / "runs" / "gpu-check")
    slack = DRY_RUN_SLACK if args.dry_run else 1
    return GpuCheck(out, args.wheels, args.dry_run, args.budget or BUDGET_SECONDS * slack).run()


def download_wheels(folder: Path) -> int:
    """Download the CARRIED wheels, at this environment's versions, for the GPU machine's
    Python; refuse a set over WHEELS_LIMIT_MIB."""
    pins = [f"{name}=={metadata.version(name)}" for name in CARRIED]
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", DEVICE_PYTHON, "--implementation", "cp", "-d", str(folder)]
    command += [flag for p in DEVICE_PLATFORMS for flag in ("--platform", p)]
    subprocess.run([*command, *pins], check=True)
    wheels = sorted(folder.glob("*.whl"))
    mib = sum(w.stat().st_size for w in wheels) / 2**20
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**20:7.2f} MiB  {wheel.name}")
    print(f"{len(wheels)} wheels, {mib:.1f} MiB (limit {WHEELS_LIMIT_MIB} MiB) in {folder}")
    if len(wheels) != len(CARRIED) or mib > WHEELS_LIMIT_MIB:
        print("gpu_check: expected one wheel per package within the limit", file=sys.stderr)
        return 1
    return 0


class GpuCheck:
    """The steps, their caps and the report."""

    def __init__(self, out: Path, wheels: Path, dry_run: bool, budget: float) -> None:
        self.out = out
        self.wheels = wheels
        self.dry_run = dry_run
        self.slack = DRY_RUN_SLACK if dry_run else 1
        self.deadline = time.monotonic() + budget
        self.scratch = Path(tempfile.mkdtemp(prefix="sketchlab-gpu-check-"))
        self.site = self.scratch / "site"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
        self.log = out / "gpu-check.log"
        self.report: dict = {
            "dry_run": dry_run,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "environment": environment(),
            "steps": {},
            "goals": {},
        }

    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        self.log.write_text(f"gpu-check {'(dry run) ' if self.dry_run else ''}in {REPO}\n")
        device = "auto" if self.dry_run else "cuda"
        try:
            self.step("install", self.install_commands(), json_file=None)
            self.step("cuda_tests", self.test_command(), json_file=None)
            for name, command in self.bench_commands(device).items():
                self.step(name, command, json_file=self.scratch / f"{name}.json")
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
        failed = [n for n, s in self.report["steps"].items() if s["status"] != "ok"]
        print(json.dumps(self.report["goals"], indent=1))
        print(f"wrote {self.out / 'gpu-check.json'} and {self.log}; failed steps: {failed or 0}")
        return 1 if failed else 0

    # --- the steps ------------------------------------------------------------------------

    def install_commands(self) -> list[list[str]]:
        """pip install of the carried wheels (for the GPU machine's platform in a dry run,
        without importing them), then the import check (alone when no wheels are here)."""
        wheels = sorted(str(w) for w in self.wheels.glob("*.whl")) if self.wheels.is_dir() else []
        check = [sys.executable, "-c", f"import {CARRIED_IMPORTS}; print('imports ok')"]
        if not wheels:
            return [check]
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        pip += ["--no-compile", "--no-cache-dir", "--upgrade", "--target", str(self.site)]
        if self.dry_run:
            pip += ["--only-binary=:all:", "--python-version", DEVICE_PYTHON]
            pip += ["--implementation", "cp"]
            pip += [flag for p in DEVICE_PLATFORMS for flag in ("--platform", p)]
        else:
            self.env["PYTHONPATH"] = os.pathsep.join([str(self.site), str(REPO)])
        return [[*pip, *wheels], check]

    def test_command(self) -> list[list[str]]:
        files = [str(p.relative_to(REPO)) for p in cuda_test_files(REPO / "tests")]
        junit = self.scratch / "junit.xml"
        return [
            [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rs", "-p", "no:cacheprovider"]
            + [f"--junitxml={junit}", *files]
        ]

    def bench_commands(self, device: str) -> dict[str, list[list[str]]]:
        sketchlab = [sys.executable, "-m", "sketchlab", "bench"]
        if self.dry_run:
            scenes = self.scratch / "scenes"
            scenes.mkdir()
            for name in ("scene00_init_4s_224px.npz", "diffvg_timing.json"):
                shutil.copy(REPO / "tests" / "data" / "diffvg" / name, scenes / name)
            raster = ["--scenes", str(scenes), "--repeats", "1", "--batch", "4"]
            generate = ["--model", "RN-tiny", "--iterations", "1", "--timed-iterations", "1"]
            generate += ["--threads", "1", "--batch-images", "1", "--fit-limit", "12"]
            generate += ["--agreement-photos", "1", "--agreement-iterations", "2"]
            score = ["--model", "ViT-tiny-32", "--batch-size", "4", "--n-sketches", "8"]
            score += ["--repeats", "1", "--workers", "0"]
        else:
            raster = ["--repeats", "20", "--batch", "96"]
            generate = ["--iterations", "10", "--timed-iterations", "50", "--batch-images", "8"]
            generate += ["--fit-limit", "4096", "--agreement-iterations", "200"]
            score = ["--model", "ViT-B-32", "--batch-size", "256", "--n-sketches", "2048"]
        generate += ["--agreement", str(REPO / "data" / "images.csv")]
        common = ["--device", device]
        return {
            "bench_raster": [[*sketchlab, "raster", *common, *raster]],
            "bench_generate": [[*sketchlab, "generate", *common, *generate]],
            "bench_score": [[*sketchlab, "score", *common, "--weights", "random", *score]],
        }

    # --- running one step -----------------------------------------------------------------

    def step(self, name: str, commands: list[list[str]], json_file: Path | None) -> None:
        """Run the step's commands in turn under its cap; record status, seconds, figures."""
        later = list(STEP_CAPS)[list(STEP_CAPS).index(name) + 1 :]
        remaining = self.deadline - time.monotonic() - MIN_STEP_SECONDS * len(later)
        cap = min(STEP_CAPS[name] * self.slack, remaining)
        started = time.monotonic()
        record: dict = {"commands": [" ".join(c) for c in commands], "cap_seconds": round(cap)}
        status, output = "ok", ""
        if cap < MIN_STEP_SECONDS / 2:
            status = "not run: out of time"
        for command in commands if status == "ok" else []:
            if json_file is not None:
                command = [*command, "--json", str(json_file)]
            left = cap - (time.monotonic() - started)
            code, text = self.run_logged(name, command, left)
            output += text
            if code is None:
                status = f"timed out after {cap:.0f} s"
                break
            if code != 0:
                status = f"failed (exit code {code})"
                break
        record["status"] = status
        record["seconds"] = round(time.monotonic() - started, 1)
        if status != "ok":
            record["output_tail"] = output[-OUTPUT_TAIL:]
        if json_file is not None and json_file.exists():
            record["figures"] = json.loads(json_file.read_text())
        if name == "cuda_tests":
            record.update(junit_summary(self.scratch / "junit.xml"))
        self.report["steps"][name] = record
        self.report["goals"] = goals(self.report["steps"])
        with atomic_write(self.out / "gpu-check.json") as handle:
            json.dump(self.report, handle, indent=1)
        print(f"[gpu-check] {name}: {status} in {record['seconds']} s", flush=True)

    def run_logged(self, name: str, command: list[str], timeout: float) -> tuple[int | None, str]:
        """Run `command` in its own process group from the repository root; append its output
        to the log. Returns (exit code or None on time-out, output)."""
        output_file = self.scratch / f"{name}.out"
        with output_file.open("w") as sink:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = process.wait(timeout=max(timeout, 1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                code = None
        text = output_file.read_text(errors="replace")
        with self.log.open("a") as log:
            log.write(f"\n===== {name}: {' '.join(command)}\n{text}")
            log.write(f"===== exit code {code}\n")
        return code, text


def cuda_test_files(tests: Path) -> list[Path]:
    """Test files that mark `cuda` tests (the marker, or the CPU_AND_CUDA parameters)."""
    return sorted(
        path
        for path in tests.rglob("test_*.py")
        if any(sign in path.read_text() for sign in ("pytest.mark.cuda", "CPU_AND_CUDA"))
    )


def junit_summary(path: Path) -> dict:
    """Counts and failures from pytest's JUnit XML (empty when pytest wrote none)."""
    import xml.etree.ElementTree as ElementTree

    if not path.exists():
        return {}
    cases = list(ElementTree.parse(path).getroot().iter("testcase"))
    failed, skipped = [], 0
    for case in cases:
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        if problem is not None:
            name = f"{case.get('classname')}::{case.get('name')}"
            failed.append({"test": name, "message": (problem.get("message") or "")[:500]})
        elif case.find("skipped") is not None:
            skipped += 1
    return {
        "tests": len(cases),
        "passed": len(cases) - len(failed) - skipped,
        "skipped": skipped,
        "failed": failed,
    }


def goals(steps: dict) -> dict:
    """The GPU goals from the benches' figures: value, goal and whether it is met (None
    when the bench did not produce the figure)."""

    def figure(step: str, *keys: str):
        value = steps.get(step, {}).get("figures")
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    batches = ("bench_generate", "batches")
    paper = figure(*batches, "paper_precision")
    values = {
        "ladder_seconds_paper": figure(*batches, "ladder_seconds_paper"),
        "raster_speedup_vs_diffvg_cpu_geometric_mean": figure(
            "bench_raster", "speedup_geometric_mean"
        ),
        "score_throughput_over_bare_encode_image": figure("bench_score", "ratio_whole_call"),
        "fast_bf16_gradient_cosine_mean": figure(
            "bench_generate", "bf16_agreement", "gradient_cosine_mean"
        ),
        "fast_bf16_eval_loss_relative_difference_max": figure(
            "bench_generate", "bf16_agreement", "eval_loss_relative_difference_max"
        ),
    }
    report = {}
    for name, value in values.items():
        sense, target = GOALS[name]
        met = None if value is None else (value <= target if sense == "<=" else value >= target)
        report[name] = {"value": value, "goal": f"{sense} {target}", "met": met}
    report["figures"] = {
        "paper_ms_per_iteration_12_sketches_one_image": figure(
            *batches, "by_precision", paper or "fp32", "ms_per_iteration_one_image"
        ),
        "paper_ms_per_iteration_many_images": figure(
            *batches, "by_precision", paper or "fp32", "ms_per_iteration_many_images"
        ),
        "many_images_sketches": figure(*batches, "many_images_sketches"),
        "largest_batch_sketches": figure(*batches, "largest_batch", "sketches"),
        "raster_speedup_slowest_scene": figure("bench_raster", "speedup_slowest_scene"),
        "raster_sketches_per_s": figure("bench_raster", "batch_throughput", "sketches_per_s"),
        "raster_batch": figure("bench_raster", "batch_throughput", "batch"),
    }
    return report


def environment() -> dict:
    """Where the check ran: Python, torch and the GPU (torch is on the GPU machine already)."""
    info: dict = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15_min": list(os.getloadavg()),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            properties = torch.cuda.get_device_properties(0)
            info["gpu"] = properties.name
            info["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
            info["gpu_capability"] = list(torch.cuda.get_device_capability(0))
            info["cuda"] = torch.version.cuda
    except ImportError as error:
        info["torch"] = f"not importable: {error}"
    return info


if __name__ == "__main__":
    sys.exit(main())
