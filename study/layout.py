"""How a trial fits on a screen: the answer buttons' columns for each option count, the style
that lays them out, and a model of the page's height that `study check` uses to warn when a
study's buttons cannot all be on screen without scrolling.

The trial page is a column as tall as the window (study/browser.py): the progress bar, the
question, the sketch, the countdown, then the buttons. Everything but the sketch keeps its
natural height, and the sketch shrinks to what is left, down to SKETCH_MIN_PX. So the buttons
are on screen whenever everything else plus the smallest sketch fits; `fits` estimates that
from the labels' lengths (how many lines each button's text wraps to), conservatively, with
the sizes the style below uses (CSS pixels at a 16 px root font). tests/e2e/test_browser_layout.py
checks the style in Chromium at every screen in SCREENS for 2 to 12 options, and the model
against it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_OPTIONS = 12
"""The most class options a study may show (plus "None of these")."""
SCREENS = ((320, 568), (360, 640), (375, 667), (667, 375), (1280, 800))
"""The screens a study is checked for (CSS pixels, smallest phone first): phones upright,
a phone on its side and a laptop."""
PHONE_MAX_WIDTH = 640
"""Up to this window width the page uses the phone layout."""
LANDSCAPE_MAX_HEIGHT = 500
"""A window wider than tall and at most this high is a phone on its side: sketch on the
left, buttons on the right."""
SKETCH_MIN_PX = 112
"""The sketch never gets smaller than this (7rem): below it a trial does not fit."""


@dataclass(frozen=True)
class Band:
    """Answer buttons per row for option counts up to `max_options` (the "None of these"
    button always has a row of its own)."""

    name: str
    max_options: int
    phone_columns: int
    wide_columns: int
    landscape_columns: int


BANDS = (
    Band("few", 6, phone_columns=2, wide_columns=3, landscape_columns=2),
    Band("many", 9, phone_columns=3, wide_columns=3, landscape_columns=3),
    Band("most", MAX_OPTIONS, phone_columns=3, wide_columns=4, landscape_columns=3),
)


def band_for(n_options: int) -> Band:
    """The band of `n_options` class options (2-12)."""
    return next(band for band in BANDS if n_options <= band.max_options)


def answers_key(n_options: int, with_none: bool) -> str:
    """The widget key of the buttons' container; the style reads the band from it."""
    return f"answers-{band_for(n_options).name}" + ("-none" if with_none else "")


def rating_key(scale: int) -> str:
    """The widget key of a rating's buttons: on a phone one per line up to RATING_ONE_COLUMN
    points, two per line beyond; one row on wider screens."""
    return "rating-" + ("few" if scale <= RATING_ONE_COLUMN else "many")


RATING_ONE_COLUMN = 6
"""Up to this many rating points stand one per line on a phone (beyond: two per line)."""


def _basis(columns: int) -> str:
    """A flex-basis that puts exactly `columns` buttons on a line (the 0.5rem gaps included;
    1px less, so that rounding never pushes the last one to the next line)."""
    return f"calc((100% - {columns - 1} * 0.5rem) / {columns} - 1px)"


def answers_css() -> str:
    """The style of the answer buttons for every band (part of study/browser.py's style)."""
    rules = [
        '[class*="st-key-answers"] { gap: 0.5rem; }',
        '[class*="st-key-answers"] > div { min-width: 0; }',
        '[class*="st-key-answers"][class*="-none"] > div:last-child '
        "{ flex-basis: 100% !important; }",
    ]
    rules.append(  # a wrapped label: tighter lines, and room for its text beside the number
        '[class*="st-key-answers"] button { line-height: 1.25; padding-left: 0.5rem; '
        "padding-right: 0.5rem; }"
    )
    wide, phone, landscape = [], [], []
    for band in BANDS:
        each = f'[class*="st-key-answers-{band.name}"] > div'
        wide.append(f"{each} {{ flex: 1 1 {_basis(band.wide_columns)}; }}")
        phone.append(f"{each} {{ flex-basis: {_basis(band.phone_columns)}; }}")
        landscape.append(f"{each} {{ flex-basis: {_basis(band.landscape_columns)}; }}")
    compact = '[class*="st-key-answers-many"] button, [class*="st-key-answers-most"] button'
    rating = [
        '[class*="st-key-rating-"] { gap: 0.5rem; }',
        '[class*="st-key-rating-"] > div { flex: 1 1 0; min-width: 0; }',
        '[class*="st-key-rating-"] button { line-height: 1.25; padding-left: 0.4rem; '
        "padding-right: 0.4rem; }",
        f"@media (max-width: {PHONE_MAX_WIDTH}px) {{",
        "  .st-key-rating-few > div { flex-basis: 100%; }",
        f"  .st-key-rating-many > div {{ flex-basis: {_basis(2)}; }}",
        f'  [class*="st-key-rating-"] button {{ min-height: {ROW_COMPACT_PX}px; }}',
        "}",
    ]
    return "\n".join(
        [
            *rules,
            *rating,
            *wide,
            f"@media (max-width: {PHONE_MAX_WIDTH}px) {{",
            *phone,
            f"  {compact} {{ min-height: {ROW_COMPACT_PX}px; font-size: 0.95rem; }}",
            "}",
            f"@media (orientation: landscape) and (max-height: {LANDSCAPE_MAX_HEIGHT}px) {{",
            *landscape,
            f"  {compact} {{ min-height: {ROW_COMPACT_PX}px; font-size: 0.95rem; }}",
            "}",
        ]
    )


# --- the page's height, as the style lays it out (CSS pixels) -----------------------------

ROW_COMPACT_PX = 36
"""Button height on phones with more than six options (one line of text; 0.95rem text)."""
CHAR_EM = 0.42
"""A generous average character width, in em (most text in the page's font is narrower)."""
BUTTON_LINE_EM = 1.25
"""Line height of a wrapped button label (the style's line-height)."""
BUTTON_INSET_PX = 34
"""Button width minus the width its label wraps in: padding, border, the shortcut number."""
BUTTON_PADDING_PX = 12
"""Button height minus its label's lines."""
GAP_PX = 8
"""Between buttons, and between the sketch block and the buttons."""
HEAD_GAP_PX = 5.6
PROGRESS_PX = 21.75
TIMER_PX = 21.75
LANDSCAPE_BUTTONS_SHARE = 0.54
"""A phone on its side gives the buttons this share of the width (the sketch 46 %)."""


@dataclass(frozen=True)
class Geometry:
    """One of the style's layouts: page padding (top + bottom, and each side), the widest
    content, font sizes (px) of the question and of the buttons with up to six options and
    with more, and one-line button heights."""

    padding_y: float
    padding_x: float
    max_content: float
    question_font: float
    button_font: float
    compact_font: float
    row: float
    compact_row: float


def geometry(width: int, height: int) -> tuple[str, Geometry]:
    """The layout ("wide", "phone" or "landscape") the style's media queries pick for this
    window, and its sizes."""
    short = height <= 720  # the style's compact question and buttons
    question = 16.8 if short else 18.4
    if width > height and height <= LANDSCAPE_MAX_HEIGHT:
        return "landscape", Geometry(16, 16, width, question, 16.8, 15.2, 40, ROW_COMPACT_PX)
    if width <= PHONE_MAX_WIDTH:
        return "phone", Geometry(21.6, 12, width, question, 16, 15.2, 40, ROW_COMPACT_PX)
    row = 40 if short else 48
    return "wide", Geometry(32, 16, 720, question, 16.8, 16.8, row, row)


def _lines(text: str, width_px: float, char_px: float) -> int:
    """Lines `text` wraps to in `width_px`, breaking at spaces (a word longer than a line
    breaks inside)."""
    per_line = max(1, int(width_px // char_px))
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > per_line:
            lines, used = lines + 1, 0
        used += (1 if used else 0) + len(word)
        while used > per_line:
            lines, used = lines + 1, used - per_line
    return lines


@dataclass(frozen=True)
class TrialShape:
    """What decides a trial's height: the button labels in screen order ("None of these"
    last, if shown), the question or prompt, whether a countdown is shown, and whether the
    order is shuffled per participant (then the worst order counts: the longest labels on
    rows of their own)."""

    labels: tuple[str, ...]
    with_none: bool
    question: str
    timed: bool
    shuffled: bool = False


def _rows(labels: tuple[str, ...], columns: int, worst_order: bool) -> list[tuple[str, ...]]:
    """The labels' rows of `columns` buttons (the last row may be shorter); with
    `worst_order`, each row led by one of the longest labels."""
    sizes = [min(columns, len(labels) - start) for start in range(0, len(labels), columns)]
    if not worst_order:
        return [labels[start : start + columns] for start in range(0, len(labels), columns)]
    longest_first = sorted(labels, key=len, reverse=True)
    rest = iter(longest_first[len(sizes) :])
    return [
        (lead, *(next(rest) for _ in range(size - 1)))
        for lead, size in zip(longest_first, sizes, strict=False)
    ]


def height_needed(shape: TrialShape, width: int, height: int) -> float:
    """The window height (CSS pixels) this trial needs, with the sketch at its smallest."""
    kind, g = geometry(width, height)
    content = min(width, g.max_content) - 2 * g.padding_x
    buttons_width = content * LANDSCAPE_BUTTONS_SHARE if kind == "landscape" else content
    head_width = content - buttons_width - GAP_PX if kind == "landscape" else content
    classes = shape.labels[:-1] if shape.with_none else shape.labels
    band = band_for(len(classes))
    columns = {
        "wide": band.wide_columns,
        "phone": band.phone_columns,
        "landscape": band.landscape_columns,
    }[kind]
    few = band is BANDS[0]
    font = g.button_font if few else g.compact_font
    one_line = g.row if few else g.compact_row
    rows = _rows(classes, columns, shape.shuffled)
    if shape.with_none:
        rows.append(shape.labels[-1:])
    answers = GAP_PX * (len(rows) - 1)
    for row in rows:  # buttons share a line's width; a lone one (the last) takes all of it
        each = (buttons_width - (len(row) - 1) * GAP_PX) / len(row) - BUTTON_INSET_PX
        lines = max(_lines(label, each, CHAR_EM * font) for label in row)
        answers += max(one_line, lines * BUTTON_LINE_EM * font + BUTTON_PADDING_PX)
    head = _head(g, shape.question, head_width, shape.timed)
    if kind == "landscape":
        return g.padding_y + max(head, answers)
    return g.padding_y + head + GAP_PX + answers


@dataclass(frozen=True)
class RatingShape:
    """A follow-up rating page: its point labels (low to high) and its question; no sketch."""

    labels: tuple[str, ...]
    question: str


@dataclass(frozen=True)
class TypedShape:
    """A naming page: the sketch, the question, a text box and a "Continue" button."""

    question: str
    timed: bool


INPUT_PX = 40
"""The name box's height."""


def _head(g: Geometry, question: str, width: float, timed: bool) -> float:
    """Progress, question, the smallest sketch and the countdown."""
    lines = _lines(question, width, CHAR_EM * g.question_font)
    return (
        PROGRESS_PX
        + 2 * HEAD_GAP_PX
        + lines * 1.6 * g.question_font
        + SKETCH_MIN_PX
        + (HEAD_GAP_PX + TIMER_PX if timed else 0)
    )


def rating_height(shape: RatingShape, width: int, height: int) -> float:
    """The window height a rating page needs: progress, question and its buttons (one per
    line on a phone, two per line beyond RATING_ONE_COLUMN points; one row elsewhere)."""
    kind, g = geometry(width, height)
    content = min(width, g.max_content) - 2 * g.padding_x
    n = len(shape.labels)
    if kind == "phone":
        columns = 1 if n <= RATING_ONE_COLUMN else 2
        one_line = ROW_COMPACT_PX
    else:
        columns, one_line = n, g.row
    rows = [shape.labels[start : start + columns] for start in range(0, n, columns)]
    buttons = GAP_PX * (len(rows) - 1)
    for row in rows:
        each = (content - (len(row) - 1) * GAP_PX) / len(row) - BUTTON_INSET_PX
        lines = max(_lines(label, each, CHAR_EM * g.button_font) for label in row)
        buttons += max(one_line, lines * BUTTON_LINE_EM * g.button_font + BUTTON_PADDING_PX)
    question = _lines(shape.question, content, CHAR_EM * g.question_font) * 1.6 * g.question_font
    return g.padding_y + PROGRESS_PX + HEAD_GAP_PX + question + GAP_PX + buttons


def typed_height(shape: TypedShape, width: int, height: int) -> float:
    """The window height a naming page needs, with the sketch at its smallest."""
    kind, g = geometry(width, height)
    content = min(width, g.max_content) - 2 * g.padding_x
    answers = INPUT_PX + GAP_PX + g.row
    if kind == "landscape":
        head_width = content * (1 - LANDSCAPE_BUTTONS_SHARE) - GAP_PX
        return g.padding_y + max(_head(g, shape.question, head_width, shape.timed), answers)
    return g.padding_y + _head(g, shape.question, content, shape.timed) + GAP_PX + answers


def fits(shape: TrialShape | RatingShape | TypedShape, width: int, height: int) -> bool:
    """Whether every button of this page is on a `width` x `height` screen without
    scrolling (with the sketch at least SKETCH_MIN_PX high)."""
    if isinstance(shape, RatingShape):
        return rating_height(shape, width, height) <= height
    if isinstance(shape, TypedShape):
        return typed_height(shape, width, height) <= height
    return height_needed(shape, width, height) <= height


def screens_that_fit(shapes: list) -> list[tuple[int, int]]:
    """The SCREENS every one of these trials fits on, in SCREENS order."""
    return [screen for screen in SCREENS if all(fits(shape, *screen) for shape in shapes)]
