"""The wheel is the product: `python -m build` makes an sdist and, from it, a wheel that holds
the five packages and every file a command reads, and nothing else; installed into a new
venv outside the checkout, sketchlab runs from an empty folder (demo, study check, study
simulate, analyze, score, init, study serve --replicas behind the packaged Caddyfile).

The new venv borrows this environment's third-party packages (a .pth file naming its
site-packages folders) so the test neither downloads nor copies gigabytes; sketchlab itself
comes only from the wheel, which the test proves (the checkout is not importable there)."""

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from study.protocol import wait_for_health
from study.proxy import free_ports
from tests.conftest import REPO

PACKAGES = {"sketchlab", "sketchgen", "study", "analysis", "scoring"}
VERSION = metadata.version("sketchlab")  # the checkout's pyproject.toml, installed editable
READ_AT_RUN_TIME = [
    "sketchlab/data/images.csv",
    "sketchlab/data/study.yaml",
    "sketchlab/data/README.md",
    "sketchlab/data/photos/bird/duck.jpg",
    "sketchlab/data/photos/bird/duck_mask.png",
    "sketchlab/data/stimuli/stimuli.csv",
    "sketchlab/data/stimuli/run.json",
    "sketchlab/data/stimuli/png/duck_4strokes.png",
    "sketchlab/data/stimuli/svg/duck_4strokes.svg",
    "sketchlab/deploy/Caddyfile",
    "sketchlab/deploy/sketchlab-study@.service",
    "sketchlab/templates/new_study/study.yaml",
    "sketchlab/templates/new_study/gitignore",
    "sketchlab/reference_numbers.json",
    "sketchgen/presets.json",
    "sketchgen/model_configs/ViT-tiny-32.json",
    "scoring/prompts.json",
    "analysis/glmer.R",
    "study/app.py",
]

WHERE_FROM = """
import importlib.metadata, importlib.util, sys
from pathlib import Path
import sketchlab, sketchgen, study, analysis, scoring
for package in (sketchlab, sketchgen, study, analysis, scoring):
    print(package.__file__)
print(importlib.metadata.distribution("sketchlab").locate_file(""))
print(*[p for p in sys.path if (Path(p) / "sketchlab" / "__init__.py").is_file()])
assert importlib.util.find_spec("tests") is None, "the checkout is importable"
"""
"""Where the new venv's python finds sketchlab: every path it prints must be in the venv."""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel from `python -m build` (the wheel is built from the sdist), of the
    files a clone has (tracked, or new and not ignored), copied so the build writes nothing
    into the checkout."""
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_symlink() or (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name, follow_symlinks=False)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A new venv outside the checkout with the wheel installed, and this environment's
    third-party packages visible through a .pth file."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    wheel = next(dist.glob("sketchlab-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = [
        entry
        for entry in sys.path
        if Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir()
    ]
    assert sysconfig.get_paths()["purelib"] in borrowed
    Path(site, "borrowed-third-party.pth").write_text("\n".join(borrowed) + "\n")
    return folder


def run_in(folder: Path, venv: Path, *command: str, **kwargs) -> subprocess.CompletedProcess:
    """A command of the new venv, run from `folder`, with nothing of the checkout around."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        list(command), cwd=folder, env=env, capture_output=True, text=True, **kwargs
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def test_the_wheel_installs_the_five_packages_and_their_files_and_nothing_else(dist):
    wheel = zipfile.ZipFile(next(dist.glob("sketchlab-*.whl")))
    names = wheel.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == PACKAGES | {f"sketchlab-{VERSION}.dist-info"}
    top_level = wheel.read(f"sketchlab-{VERSION}.dist-info/top_level.txt").decode().split()
    assert set(top_level) == PACKAGES
    for name in READ_AT_RUN_TIME:
        assert name in names, f"{name} is not in the wheel"
    photos = [n for n in names if n.startswith("sketchlab/data/photos/")]
    assert len(photos) == len(list((REPO / "data" / "photos").rglob("*.*")))

    with tarfile.open(next(dist.glob("sketchlab-*.tar.gz"))) as sdist:
        members = {m.name.split("/", 1)[1]: m for m in sdist.getmembers() if "/" in m.name}
    for name in READ_AT_RUN_TIME:
        assert members[name].isfile(), f"{name} is not a plain file in the sdist"


@pytest.mark.slow
def test_the_installed_wheel_runs_from_an_empty_folder(
    venv, tmp_path, r_lme4, caddy_path, postgres_url
):
    empty = tmp_path / "empty"
    empty.mkdir()
    where = run_in(empty, venv, "python", "-c", WHERE_FROM).stdout.split()
    assert len(where) == 7, where  # five packages, the distribution, one folder with sketchlab
    assert all(Path(path).is_relative_to(venv) for path in where), where

    assert run_in(empty, venv, "sketchlab", "--version").stdout.strip() == f"sketchlab {VERSION}"
    demo = run_in(
        empty, venv, "sketchlab", "demo", "--out", "demo", "--participants", "40",
        "--iterations", "2",
    )  # fmt: skip
    assert "report:" in demo.stdout and (empty / "demo" / "report" / "index.html").is_file()
    assert "OK" in run_in(empty, venv, "sketchlab", "study", "check", "demo/study.yaml").stdout
    run_in(
        empty, venv, "sketchlab", "study", "simulate", "demo/study.yaml", "-n", "8",
        "--storage", "sqlite:///simulated.db",
    )  # fmt: skip
    run_in(
        empty, venv, "sketchlab", "analyze", "demo/responses.csv", "--study", "demo/study.yaml",
        "--out", "report", "--n-boot", "50",
    )  # fmt: skip
    assert (empty / "report" / "mixed_model.csv").is_file()
    run_in(
        empty, venv, "sketchlab", "score", "demo/sketches/stimuli.csv", "--model", "ViT-tiny-32",
        "--pretrained", "none", "--prompts", "sketch", "--out", "scores.csv", "--device", "cpu",
    )  # fmt: skip
    assert (empty / "scores.csv").is_file()
    run_in(empty, venv, "sketchlab", "init", "new-study")
    assert (empty / "new-study" / ".gitignore").is_file()

    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TMPDIR"] = str(tmp_path)  # the replicas' log folder
    serve = subprocess.Popen(
        [str(venv / "bin" / "sketchlab"), "study", "serve", "demo/study.yaml", "--replicas", "2"]
        + ["--port", str(port), "--storage", postgres_url],
        cwd=empty,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", serve, timeout_s=120)
        banner = serve.stdout.readline()
    finally:
        serve.send_signal(signal.SIGTERM)
        output = serve.communicate(timeout=60)[0]
    assert "2 replica(s)" in banner and serve.returncode == 0, banner + output


def test_package_files_are_found_through_importlib_resources_not_the_repository():
    """No module looks for its files relative to `__file__` (a layout only a checkout has);
    gpu_check is the one exception: it runs from a clone (`make gpu-check`) and copies tests."""
    found = [
        path.relative_to(REPO).as_posix()
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
        if "__file__" in path.read_text(encoding="utf-8")
    ]
    assert found == ["sketchlab/bench/gpu_check.py"]
    for name in ("data", "deploy"):
        link = REPO / "sketchlab" / name
        assert link.is_symlink() and os.readlink(link) == f"../{name}"
