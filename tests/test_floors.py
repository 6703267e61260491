"""Every module of the `sketchlab` package has a floor in the import-linter contract
(pyproject.toml), so `make lint`'s layers check covers it: a module left out would be free to
import anything."""

import tomllib

from tests.conftest import REPO


def _layers() -> list[set[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [
        {name.strip() for name in layer.replace("|", ":").split(":")}
        for layer in contract["layers"]
    ]


def test_every_sketchlab_module_has_a_floor():
    named = set().union(*_layers())
    modules = {
        f"sketchlab.{path.stem if path.is_file() else path.name}"
        for path in (REPO / "sketchlab").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").is_file())
    }
    assert modules, "no modules read"
    assert modules <= named, f"give these a floor in pyproject.toml: {sorted(modules - named)}"


def test_the_other_packages_are_whole_floors():
    named = set().union(*_layers())
    assert {"analysis", "scoring", "sketchgen", "study"} <= named
