"""The CLIPasso paper's reported numbers, as data (shared by the simulator and the report)."""

import json
from functools import lru_cache

from sketchlab.bundled import package_file


@lru_cache(maxsize=1)
def paper_numbers() -> dict:
    """Human and CLIP recognition rates reported by the paper, keyed by stroke count (str)."""
    return json.loads(package_file("sketchlab", "reference_numbers.json").read_text())
