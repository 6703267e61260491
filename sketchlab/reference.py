"""The CLIPasso paper's reported numbers, as data (shared by the simulator and the report)."""

import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def paper_numbers() -> dict:
    """Human and CLIP recognition rates reported by the paper, keyed by stroke count (str)."""
    return json.loads((Path(__file__).with_name("reference_numbers.json")).read_text())
