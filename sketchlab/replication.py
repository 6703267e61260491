"""Replication packages: `sketchlab package RUN --out DIR` writes one, `sketchlab verify DIR`
checks it.

RUN is a study folder as `sketchlab init` makes it (or its study.yaml): study.yaml, the
stimuli it names (a `sketchlab generate` run folder), the export `responses.csv` (with its
`responses.participants.csv`) and, when present, the CLIP scores beside stimuli.csv and the
lab's own `report/`. The package holds

    README.md          what is here, how it was made, how to check it
    MANIFEST.sha256    SHA-256 of every other file (`sha256sum -c MANIFEST.sha256` reads it)
    study.yaml         the study, its stimuli path rewritten; storage and preview_token left out
    stimuli/           stimuli.csv, run.json and the SVG and PNG of every sketch
    responses.csv      participant and session ids replaced by salted hashes (the salt is
                       not in the package); responses.participants.csv likewise
    scores.csv         the CLIP scores, when the study has them
    analysis.json      the analysis settings (exclusion rules, bootstrap draws, seed)
    report/            `analyze` run on the packaged files with those settings
    environment.json   versions of Python, sketchlab, its libraries, R and lme4

`verify` checks the manifest, runs the analysis again from the packaged files with the
recorded settings, and reports every number of every report table that differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from sketchlab.contracts import SIMULATED_PREFIX
from sketchlab.errors import BadInput
from sketchlab.files import atomic_write

MANIFEST = "MANIFEST.sha256"
SETTINGS = "analysis.json"
HASHED_COLUMNS = ("participant_id", "session_id")
LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyyaml", "pyarrow")
RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-9
"""Numbers that agree this closely count as equal (floating point across machines)."""
MODEL_TABLES = ("mixed_model.csv", "mixed_model_random_effects.csv")
MODEL_COLUMNS = "model_"
"""The mixed model's numbers: its tables, and comparison.csv's columns named model_*."""
MODEL_RELATIVE_TOLERANCE = MODEL_ABSOLUTE_TOLERANCE = 1e-3
"""glmer's estimates vary from run to run on the same data by up to about 4e-4 (log-odds, or
relative for odds ratios; docs/analysis.md, "Replication packages"), far below the 2-3 digits
the report shows, so the mixed model's numbers agree when this close (absolutely or
relatively)."""


@dataclass(frozen=True)
class Run:
    """The files of a study that go into its package (module docstring)."""

    study_yaml: Path
    stimuli_csv: Path
    responses: Path
    participants: Path | None
    scores: Path | None
    report: Path | None


@dataclass
class Verification:
    """What `verify` found; `ok` when there is nothing in `problems`."""

    files: int = 0
    numbers: int = 0
    tables: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def find_run(run: Path, responses: Path | None = None) -> Run:
    """The files of RUN (a study folder or its study.yaml), checked to exist."""
    from analysis.exclusions import find_participants_table
    from study.config import load_study

    study_yaml = run if run.is_file() else run / "study.yaml"
    if not study_yaml.is_file():
        raise BadInput(f"{run}: no study.yaml there (RUN is a study folder or its study.yaml)")
    folder = study_yaml.parent
    config = load_study(study_yaml, verify_images=True)
    responses = responses or folder / "responses.csv"
    if not responses.is_file():
        raise BadInput(
            f"{responses} does not exist: export the answers first (sketchlab study export "
            f"{study_yaml} --out {responses}) or name them with --responses"
        )
    scores = config.stimuli.parent / "scores.csv"
    report = folder / "report"
    return Run(
        study_yaml,
        config.stimuli,
        responses,
        find_participants_table(responses),
        scores if scores.is_file() else None,
        report if (report / "index.html").is_file() else None,
    )


def write_package(
    run: Run,
    out: Path,
    *,
    salt: bytes,
    n_boot: int = 1000,
    seed: int = 0,
    allow_exclusions: bool = False,
) -> list[str]:
    """Build the package in a temporary folder next to `out` and rename it into place, so a
    failure never leaves a package that looks complete. Returns notes for the user: where
    the lab's own report differs from the package's."""
    from analysis.report import build_report
    from analysis.responses import read_responses
    from sketchlab.commands.analyze import exclusion_rules

    if out.exists():
        raise BadInput(f"{out} already exists: a package is never overwritten; choose a new --out")
    read_responses(run.responses)  # bad responses stop here, before anything is written
    rules = exclusion_rules(run.study_yaml)
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        _copy_stimuli(run.stimuli_csv, building / "stimuli")
        _write_study(run.study_yaml, building / "study.yaml")
        _write_hashed(run.responses, building / "responses.csv", salt)
        if run.participants is not None:
            _write_hashed(run.participants, building / "responses.participants.csv", salt)
        if run.scores is not None:
            shutil.copyfile(run.scores, building / "scores.csv")
        settings = {
            "rules": dataclasses.asdict(rules),
            "n_boot": n_boot,
            "seed": seed,
            "scores": run.scores is not None,
            "allow_exclusions": allow_exclusions,
        }
        _write_json(building / SETTINGS, settings)
        build_report(building / "responses.csv", building / "report", _options(building, settings))
        _write_json(building / "environment.json", environment())
        (building / "README.md").write_text(_readme(run, settings), encoding="utf-8")
        write_manifest(building)
        os.chmod(building, 0o755)
        notes = []
        if run.report is not None:
            notes = [
                f"your {run.report} differs from the package's report: {difference}"
                for difference in compare_reports(run.report, building / "report")
            ]
        os.replace(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return notes


def verify_package(package: Path) -> Verification:
    """Check the manifest, recompute the report from the packaged files, compare (module
    docstring). BadInput only when `package` is not a package at all."""
    from analysis.report import build_report
    from study.config import load_study

    if not (package / MANIFEST).is_file() or not (package / SETTINGS).is_file():
        raise BadInput(f"{package}: not a replication package (no {MANIFEST} or {SETTINGS})")
    found = Verification()
    found.files, found.problems = check_manifest(package)
    try:
        settings = json.loads((package / SETTINGS).read_text(encoding="utf-8"))
        options = _options(package, settings)
    except (ValueError, TypeError, KeyError) as error:
        found.problems.append(f"{SETTINGS}: cannot be read ({error})")
        return found
    try:
        load_study(package / "study.yaml", verify_images=True)
    except BadInput as error:
        found.problems.append(f"study.yaml does not check against the packaged stimuli: {error}")
    with tempfile.TemporaryDirectory(prefix="sketchlab-verify-") as folder:
        try:
            build_report(package / "responses.csv", Path(folder) / "report", options)
        except BadInput as error:
            found.problems.append(f"the analysis cannot be run again: {error}")
            return found
        differences = compare_reports(package / "report", Path(folder) / "report", found)
    found.problems += differences
    found.notes = _environment_notes(package)
    return found


def check_manifest(folder: Path) -> tuple[int, list[str]]:
    """(files listed, problems): a file missing, changed, or present but not listed."""
    problems, listed = [], set()
    for number, line in enumerate((folder / MANIFEST).read_text().splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if not name:
            problems.append(f"{MANIFEST} line {number}: not '<sha256>  <path>'")
            continue
        listed.add(name)
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif _sha256(path) != digest:
            problems.append(f"{name}: its SHA-256 differs from {MANIFEST} (the file was changed)")
    for path in sorted(_files(folder)):
        if path not in listed:
            problems.append(f"{path}: not listed in {MANIFEST}")
    return len(listed), problems


def write_manifest(folder: Path) -> None:
    lines = [f"{_sha256(folder / name)}  {name}\n" for name in sorted(_files(folder))]
    (folder / MANIFEST).write_text("".join(lines), encoding="utf-8")


def compare_reports(
    packaged: Path, recomputed: Path, tally: Verification | None = None
) -> list[str]:
    """Every difference between the CSV tables of two report folders: a table only in one,
    another shape, or a cell (numbers within RELATIVE_TOLERANCE; text exactly)."""
    differences = []
    names = {p.name for p in packaged.glob("*.csv")} | {p.name for p in recomputed.glob("*.csv")}
    for name in sorted(names):
        if not (packaged / name).is_file() or not (recomputed / name).is_file():
            where = "the package" if (packaged / name).is_file() else "the recomputation"
            differences.append(f"report/{name}: only in {where}")
            continue
        old, new = (
            pd.read_csv(p / name, dtype=str, keep_default_na=False) for p in (packaged, recomputed)
        )
        if list(old.columns) != list(new.columns) or len(old) != len(new):
            differences.append(
                f"report/{name}: {len(old)} rows x {list(old.columns)} in the package, "
                f"{len(new)} rows x {list(new.columns)} recomputed"
            )
            continue
        for column in old.columns:
            for row, (a, b) in enumerate(zip(old[column], new[column], strict=True), start=2):
                number_a, number_b = _number(a), _number(b)
                if number_a is not None and number_b is not None:
                    if tally is not None:
                        tally.numbers += 1
                    model = name in MODEL_TABLES or column.startswith(MODEL_COLUMNS)
                    same = (math.isnan(number_a) and math.isnan(number_b)) or math.isclose(
                        number_a,
                        number_b,
                        rel_tol=MODEL_RELATIVE_TOLERANCE if model else RELATIVE_TOLERANCE,
                        abs_tol=MODEL_ABSOLUTE_TOLERANCE if model else ABSOLUTE_TOLERANCE,
                    )
                else:
                    same = a == b
                if not same:
                    differences.append(
                        f"report/{name} row {row}, column {column}: {a!r} in the package, "
                        f"{b!r} recomputed"
                    )
        if tally is not None:
            tally.tables += 1
    return differences


def environment() -> dict:
    """Versions of everything the numbers depend on."""
    from sketchlab import version

    libraries = {}
    for name in LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libraries[name] = None
    return {
        "sketchlab": version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": libraries,
        "R": _r_version("cat(R.version.string)"),
        "lme4": _r_version('cat(as.character(packageVersion("lme4")))'),
    }


def read_salt(path: Path | None, out: Path) -> bytes:
    """The salt for the id hashes: from `path` (made there, private, when it does not exist
    yet), or a fresh one that is kept nowhere."""
    if path is None:
        return secrets.token_bytes(32)
    if path.resolve().is_relative_to(out.resolve()):
        raise BadInput(f"--salt-file {path} is inside --out {out}: the salt must stay out of it")
    if path.exists():
        try:
            return bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise BadInput(f"--salt-file {path}: not a hexadecimal salt") from None
    salt = secrets.token_bytes(32)
    with atomic_write(path) as handle:  # a new temporary file is private (0600)
        handle.write(salt.hex() + "\n")
    return salt


def hashed_id(value: str, salt: bytes, column: str) -> str:
    """HMAC-SHA256(salt, column:value), 20 hex digits; the simulator's `sim-` marker is kept
    (the report reads it), an empty value stays empty."""
    if not value:
        return value
    digest = hmac.new(salt, f"{column}:{value}".encode(), hashlib.sha256).hexdigest()[:20]
    return (SIMULATED_PREFIX if value.startswith(SIMULATED_PREFIX) else "h-") + digest


def _write_hashed(source: Path, target: Path, salt: bytes) -> None:
    text = (
        source
        if source.suffix != ".parquet"
        else io.StringIO(
            pd.read_parquet(source).to_csv(index=False)  # as `study export` writes the CSV
        )
    )
    table = pd.read_csv(text, dtype=str, keep_default_na=False)
    for column in HASHED_COLUMNS:
        if column in table.columns:
            table[column] = [hashed_id(value, salt, column) for value in table[column]]
    table.to_csv(target, index=False)


def _copy_stimuli(stimuli_csv: Path, target: Path) -> None:
    """stimuli.csv, run.json and every SVG and PNG stimuli.csv names (paths inside its folder)."""
    source = stimuli_csv.parent
    table = pd.read_csv(stimuli_csv, dtype=str, keep_default_na=False)
    names = {"stimuli.csv"} | ({"run.json"} if (source / "run.json").is_file() else set())
    for column in ("svg_path", "png_path"):
        for row, name in enumerate(table.get(column, []), start=2):
            if not name:
                continue
            path = (source / name).resolve()
            if not path.is_relative_to(source.resolve()) or not path.is_file():
                raise BadInput(
                    f"{stimuli_csv} row {row}, field {column}: {name} is not a file inside "
                    f"{source}, so it cannot be packaged"
                )
            names.add(Path(name).as_posix())
    for name in sorted(names):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)


def _write_study(study_yaml: Path, target: Path) -> None:
    """study.yaml with its stimuli in the package, Markdown files inlined, and without what
    belongs to the lab's server (storage: a database URL, maybe with a password; the secret
    preview token)."""
    raw = yaml.safe_load(study_yaml.read_text(encoding="utf-8"))
    for key in ("consent", "instructions"):
        value = raw.get(key)
        if isinstance(value, str) and "\n" not in value and value.strip().endswith(".md"):
            raw[key] = (study_yaml.parent / value.strip()).read_text(encoding="utf-8")
    raw["stimuli"] = "stimuli/stimuli.csv"
    for key in ("storage", "preview_token"):
        raw.pop(key, None)
    text = yaml.safe_dump(
        raw, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    target.write_text(
        f"# {study_yaml.name} as run, for the replication package (storage and preview_token "
        "left out).\n" + text,
        encoding="utf-8",
    )


def _options(package: Path, settings: dict):
    from analysis.exclusions import ExclusionRules
    from analysis.report import ReportOptions

    participants = package / "responses.participants.csv"
    return ReportOptions(
        rules=ExclusionRules(**settings["rules"]),
        participants_path=participants if participants.is_file() else None,
        scores_path=package / "scores.csv" if settings["scores"] else None,
        n_boot=int(settings["n_boot"]),
        seed=int(settings["seed"]),
        allow_exclusions=bool(settings.get("allow_exclusions", False)),
    )


def _readme(run: Run, settings: dict) -> str:
    from sketchlab import version

    scores = " --scores scores.csv" if settings["scores"] else ""
    return (
        f"# Replication package: {run.study_yaml.parent.resolve().name}\n\n"
        f"Made by `sketchlab package` (sketchlab {version()}).\n\n"
        "| file | what it is |\n|---|---|\n"
        "| `study.yaml` | the study as run (storage and preview token left out) |\n"
        "| `stimuli/` | every sketch shown (SVG and PNG), stimuli.csv, run.json (how they "
        "were made) |\n"
        "| `responses.csv` | one row per trial; participant and session ids are salted "
        "hashes (HMAC-SHA256; the salt is not in this package) |\n"
        "| `responses.participants.csv` | one row per participant, ids hashed alike |\n"
        + ("| `scores.csv` | CLIP's zero-shot scores of the sketches |\n" if scores else "")
        + f"| `{SETTINGS}` | the analysis settings (exclusion rules, bootstrap draws, seed) |\n"
        "| `report/` | the analysis of these files (`report/index.html`) |\n"
        "| `environment.json` | versions of Python, sketchlab, its libraries, R and lme4 |\n"
        f"| `{MANIFEST}` | SHA-256 of every file (`sha256sum -c {MANIFEST}`) |\n\n"
        "## Check it\n\n"
        f"    pip install sketchlab=={version().split()[0]}\n"
        "    sketchlab verify .\n\n"
        "`verify` checks every file against the manifest, runs the analysis again from these "
        "files with the recorded settings, and lists every number of every report table "
        "that differs. By hand, the same analysis (the default settings of `analyze` with "
        "this study) is\n\n"
        f"    sketchlab analyze responses.csv --study study.yaml{scores} --out report\n"
    )


def _environment_notes(package: Path) -> list[str]:
    try:
        then = json.loads((package / "environment.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["environment.json cannot be read"]
    now = environment()
    notes = []
    for key in ("sketchlab", "python", "R", "lme4"):
        if then.get(key) != now[key]:
            notes.append(f"{key}: packaged with {then.get(key)}, verified with {now[key]}")
    for name, value in now["libraries"].items():
        if then.get("libraries", {}).get(name) != value:
            notes.append(
                f"{name}: packaged with {then['libraries'].get(name)}, verified with {value}"
            )
    return notes


def _r_version(expression: str) -> str | None:
    if shutil.which("Rscript") is None:
        return None
    done = subprocess.run(
        ["Rscript", "--vanilla", "-e", expression], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _files(folder: Path) -> list[str]:
    return [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST
    ]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
