"""The timing policy: every "too fast" rule of the study and of the analysis, derived from one
configured value (study.yaml's `min_answer_ms`), so that each of them can fire.

- The app ignores an answer sooner than `min_answer_ms` after the trial was drawn (a double key
  press must not answer the next trial before it is seen; default 250 ms).
- An answer that is stored but came sooner than `too_fast_ms` = `min_answer_ms` +
  FAST_MARGIN_MS (500 ms by default) is flagged `too_fast` in the responses (and counted in
  `study export --participants`), and the analysis drops it ("too fast (answer)") and excludes
  a session whose median answer time is below it ("too fast (participant)").

Before, the app minimum (250 ms), the flag (200 ms) and the analysis's answer floor (150 ms)
were three numbers: with the defaults neither of the last two could ever fire on the app's data.
Answer times are measured on the server, from the moment the trial was first drawn, so they
include about 100 ms of network and rendering (docs/study.md, "Exported tables").
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_ANSWER_MS = 250
"""study.yaml's `min_answer_ms` when it gives none."""
FAST_MARGIN_MS = 250
"""An answer that came within this long after the app would take it at all is too fast to
have been a look at the sketch: recognising a sketch and moving to a button takes longer."""


@dataclass(frozen=True)
class TimingPolicy:
    """The "too fast" thresholds of one study (module docstring), in ms from the trial being
    drawn."""

    min_answer_ms: int = DEFAULT_MIN_ANSWER_MS

    @property
    def too_fast_ms(self) -> int:
        """Stored answers under this are flagged `too_fast` and dropped by the analysis."""
        return self.min_answer_ms + FAST_MARGIN_MS

    def ignored(self, rt_ms: float) -> bool:
        """The app does not take an answer this soon (it is not stored)."""
        return rt_ms < self.min_answer_ms

    def too_fast(self, rt_ms: float) -> bool:
        """A stored answer this fast is flagged (and dropped by the analysis)."""
        return rt_ms < self.too_fast_ms
