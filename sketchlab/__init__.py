"""sketchlab: the command line that ties sketchgen, study and analysis together."""

from importlib import metadata


def version() -> str:
    """The installed distribution's version (pyproject.toml's), or a note when sketchlab runs
    from a folder that was never installed."""
    try:
        return metadata.version("sketchlab")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: run `pip install -e .` in the checkout)"
