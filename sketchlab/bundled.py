"""Files that ship inside the wheel, found through importlib.resources, so an installed
sketchlab works from any folder and never looks for a repository around itself.

Package data: `data/` (the bundled photos, `images.csv`, the example `study.yaml` and its
stimuli) and `deploy/` (the Caddyfile and the other deployment templates) inside the
`sketchlab` package, and each package's own files (R script, presets, prompt sets, model
configs). In a checkout `sketchlab/data` and `sketchlab/deploy` are relative symlinks to the
repository's top-level `data/` and `deploy/` (README, "Why the package layout is what it
is"); the wheel and the sdist hold real files.
"""

from importlib import resources
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """The path of `parts` inside the installed `package` (a file or a folder).

    pip installs wheels unpacked, so every resource is a real file; tools that need a path
    (Rscript, Caddy, Streamlit, relative paths inside images.csv) get one.
    """
    resource = resources.files(package)
    for part in parts:
        resource = resource.joinpath(part)
    return Path(str(resource))


def bundled(*parts: str) -> Path:
    """A file or folder of the bundled `data/` or `deploy/`, e.g. `bundled("data",
    "study.yaml")` or `bundled("deploy", "Caddyfile")`."""
    return package_file("sketchlab", *parts)
