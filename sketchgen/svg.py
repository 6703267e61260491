"""Sketches as SVG files, in the format CLIPasso writes through pydiffvg's `save_svg`.

One `<path d="M x0 y0 C x1 y1 x2 y2 x3 y3">` per stroke (pixel coordinates, x right, y
down), `fill="none"`, `stroke="rgb(r, g, b)"`, `stroke-opacity`, `stroke-width` = 2 x the
half-width (diffvg's `stroke_width` is a half-width; pydiffvg doubles it on save and halves
it on load), round caps and joins, no viewBox, no transforms. Coordinates are written as
the shortest decimal that reads back to the same float32, so `read_svg(write_svg(...))`
returns the same point and width tensors; colours go through SVG's 8-bit `rgb()`.

`read_svg` also reads SVGs written by CLIPasso itself, and other stroke-only SVGs that use
M/C/L path commands (each cubic segment becomes one stroke; a line becomes the cubic that
traces it). Anything else is refused with one sentence naming the file and the problem.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import ImageColor

from sketchlab.errors import BadInput
from sketchlab.files import atomic_write

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# Elements that draw something other than a stroke: a sketch never contains them.
_UNSUPPORTED_SHAPES = {
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "image",
    "use",
}
# Style properties that SVG inherits from a <g> to its paths.
_INHERITED = ("fill", "stroke", "stroke-width", "stroke-opacity", "opacity")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATH_TOKEN = re.compile(rf"\s*,?\s*(?:([A-Za-z])|({_NUMBER}))")
_LENGTH = re.compile(rf"^\s*({_NUMBER})\s*(px)?\s*$")


@dataclass
class SvgSketch:
    """A sketch read from SVG.

    points: (N, 4, 2) float32 cubic control points in pixels; half_widths: (N,) float32
    (diffvg convention, half the SVG stroke-width); colors: (N, 4) float32 RGBA in [0, 1];
    width, height: canvas size in pixels.
    """

    points: torch.Tensor
    half_widths: torch.Tensor
    colors: torch.Tensor
    width: int
    height: int


def write_svg(
    path: str | os.PathLike,
    points: torch.Tensor,
    half_widths: torch.Tensor | float,
    size: int | tuple[int, int],
    colors: torch.Tensor | None = None,
) -> None:
    """Write strokes as a CLIPasso/pydiffvg-style SVG, atomically.

    points: (N, 4, 2) pixels; half_widths: (N,) or one float (CLIPasso: 1.5, written as
    stroke-width="3.0"); size: int or (height, width) in pixels; colors: (N, 4) RGBA in
    [0, 1], None = opaque black.
    """
    pts, widths, rgba, height, width = _check_strokes(points, half_widths, size, colors)
    root = ET.Element(
        "svg",
        {"version": "1.1", "xmlns": SVG_NAMESPACE, "width": str(width), "height": str(height)},
    )
    ET.SubElement(root, "defs")
    group = ET.SubElement(root, "g")
    for stroke_points, half_width, color in zip(pts, widths, rgba, strict=True):
        p = [_float32_text(v) for v in stroke_points.reshape(-1)]
        r, g, b = (round(float(c) * 255) for c in color[:3])
        ET.SubElement(
            group,
            "path",
            {
                "d": f"M {p[0]} {p[1]} C {p[2]} {p[3]} {p[4]} {p[5]} {p[6]} {p[7]}",
                "fill": "none",
                "stroke": f"rgb({r}, {g}, {b})",
                "stroke-opacity": _float32_text(color[3]),
                "stroke-width": _float32_text(2 * half_width),
                "stroke-linecap": "round",
                "stroke-linejoin": "round",
            },
        )
    ET.indent(root, space="  ")
    with atomic_write(path, encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" ?>\n')
        handle.write(ET.tostring(root, encoding="unicode"))
        handle.write("\n")


def read_svg(path: str | os.PathLike) -> SvgSketch:
    """Read a sketch SVG (ours or CLIPasso's) back into stroke tensors.

    Raises BadInput naming the file and the problem for: a missing file, text that is not
    XML, a root that is not <svg>, a missing or non-positive width/height, transforms or a
    scaling viewBox, shapes other than paths, no paths, path commands other than M/C/L,
    wrong numbers of coordinates, NaN/inf values, filled paths and paths without a stroke.
    """
    path = Path(path)
    root = _svg_root(path)
    width = _length(root, "width", path)
    height = _length(root, "height", path)
    view_box = root.get("viewBox")
    if view_box is not None:
        numbers = [float(v) for v in re.findall(_NUMBER, view_box)]
        if numbers != [0.0, 0.0, float(width), float(height)]:
            raise BadInput(
                f'{path} has viewBox="{view_box}", which rescales the drawing; only SVGs '
                f"whose viewBox is 0 0 width height (or absent, as CLIPasso writes) are supported."
            )

    strokes: list[tuple[np.ndarray, float, tuple[float, float, float, float]]] = []
    path_count = 0

    def visit(element: ET.Element, inherited: dict[str, str]) -> None:
        nonlocal path_count
        tag = _local(element.tag)
        if element.get("transform"):
            raise BadInput(
                f"{path}: <{tag}> has a transform, which is not supported (CLIPasso writes none)."
            )
        if tag in _UNSUPPORTED_SHAPES:
            raise BadInput(
                f"{path} contains a <{tag}>; a sketch SVG may only draw strokes with <path>."
            )
        style = {**inherited, **_style(element)}
        if tag == "path":
            path_count += 1
            where = f"{path}, path {path_count}"
            segments = _parse_path_data(element.get("d", ""), where)
            half_width, color = _stroke_style(style, where)
            strokes.extend((segment, half_width, color) for segment in segments)
            return
        if tag in ("defs", "title", "desc", "metadata"):
            return
        for child in element:
            visit(child, {k: v for k, v in style.items() if k in _INHERITED})

    visit(root, {})
    if not strokes:
        raise BadInput(f"{path} has no <path> strokes, so there is no sketch to read.")
    return SvgSketch(
        points=torch.from_numpy(np.stack([s[0] for s in strokes]).astype(np.float32)),
        half_widths=torch.tensor([s[1] for s in strokes], dtype=torch.float32),
        colors=torch.tensor([s[2] for s in strokes], dtype=torch.float32),
        width=width,
        height=height,
    )


def _svg_root(path: Path) -> ET.Element:
    """The <svg> root element of the file at `path`, which must exist and be XML."""
    if not path.is_file():
        raise BadInput(f"{path} does not exist or is not a file.")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise BadInput(f"{path} is not an SVG file: it is not valid XML ({error}).") from error
    if _local(root.tag) != "svg":
        raise BadInput(
            f"{path} is not an SVG file: its root element is <{_local(root.tag)}>, not <svg>."
        )
    return root


def _check_strokes(points, half_widths, size, colors):
    """Validate write_svg's arguments; return numpy float32 arrays and (height, width)."""
    if not isinstance(points, torch.Tensor) or points.dim() != 3 or points.shape[1:] != (4, 2):
        shape = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
        raise BadInput(f"points must be a tensor of shape (N, 4, 2), got {shape}.")
    if points.shape[0] == 0:
        raise BadInput("a sketch needs at least one stroke to be written as SVG.")
    pts = points.detach().to("cpu", torch.float32).numpy()
    if not np.isfinite(pts).all():
        raise BadInput("points contain NaN or infinite coordinates.")
    n = pts.shape[0]
    if isinstance(half_widths, torch.Tensor):
        widths = half_widths.detach().to("cpu", torch.float32).reshape(-1).numpy()
        if widths.size == 1:
            widths = np.full(n, widths[0], np.float32)
    else:
        widths = np.full(n, float(half_widths), np.float32)
    if widths.shape != (n,):
        raise BadInput(f"half_widths must have shape ({n},) to match points, got {widths.shape}.")
    if not (np.isfinite(widths).all() and (widths > 0).all()):
        raise BadInput("half_widths must be positive finite numbers of pixels.")
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        raise BadInput(
            f"size must be a positive int or (height, width) of positive ints, got {size!r}."
        )
    if colors is None:
        rgba = np.tile(np.array([0, 0, 0, 1], np.float32), (n, 1))
    else:
        rgba = colors.detach().to("cpu", torch.float32).numpy()
        if rgba.shape != (n, 4):
            raise BadInput(f"colors must have shape ({n}, 4) RGBA, got {rgba.shape}.")
        if not (np.isfinite(rgba).all() and (rgba >= 0).all() and (rgba <= 1).all()):
            raise BadInput("colors must be RGBA values in [0, 1].")
    return pts, widths, rgba, height, width


def _float32_text(value) -> str:
    """Shortest decimal that reads back as the same float32 (no exponent)."""
    return np.format_float_positional(np.float32(value), unique=True, trim="0")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


def _length(root: ET.Element, name: str, path: Path) -> int:
    text = root.get(name)
    match = _LENGTH.match(text) if text is not None else None
    if match is None:
        found = "missing" if text is None else f'"{text}"'
        raise BadInput(f"{path}: the <svg> {name} is {found}; it must be a number of pixels.")
    value = float(match.group(1))
    if not (math.isfinite(value) and value > 0 and value == int(value)):
        raise BadInput(
            f"{path}: the <svg> {name} {text!r} must be a positive whole number of pixels."
        )
    return int(value)


def _style(element: ET.Element) -> dict[str, str]:
    """Presentation attributes, overridden by the `style` attribute's declarations."""
    found = {k: v.strip() for k, v in element.attrib.items() if k in _INHERITED}
    for declaration in element.get("style", "").split(";"):
        if ":" in declaration:
            key, value = declaration.split(":", 1)
            if key.strip() in _INHERITED:
                found[key.strip()] = value.strip()
    return found


def _stroke_style(
    style: dict[str, str], where: str
) -> tuple[float, tuple[float, float, float, float]]:
    """(half-width in pixels, RGBA in [0, 1]) of one path."""
    fill = style.get("fill", "none").lower()
    if fill not in ("none", "transparent"):
        raise BadInput(
            f'{where} is filled (fill="{style["fill"]}"); sketch strokes must have fill="none".'
        )
    stroke = style.get("stroke")
    if stroke is None or stroke.lower() == "none":
        raise BadInput(f"{where} has no stroke colour, so it draws nothing.")
    try:
        rgb = ImageColor.getrgb(stroke)[:3]
    except ValueError as error:
        raise BadInput(f'{where} has an unreadable stroke colour "{stroke}".') from error
    opacity = _number(style.get("stroke-opacity", "1"), "stroke-opacity", where)
    opacity *= _number(style.get("opacity", "1"), "opacity", where)
    if not 0 <= opacity <= 1:
        raise BadInput(f"{where} has a stroke opacity of {opacity}, outside [0, 1].")
    stroke_width = _number(style.get("stroke-width", "1").removesuffix("px"), "stroke-width", where)
    if stroke_width <= 0:
        raise BadInput(f"{where} has stroke-width {stroke_width}; it must be positive.")
    color = (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, opacity)
    return float(np.float32(stroke_width) / np.float32(2)), color


def _number(text: str, name: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise BadInput(f'{where} has {name}="{text}", which is not a number.') from error
    if not math.isfinite(value):
        raise BadInput(f'{where} has {name}="{text}"; it must be a finite number.')
    return value


def _parse_path_data(d: str, where: str) -> list[np.ndarray]:
    """Cubic segments (each (4, 2) float32) of one path's `d`: M/m starts a subpath,
    C/c adds cubics, L/l adds straight lines as cubics; repeated coordinates repeat the
    command, as SVG allows."""
    tokens = _path_tokens(d, where)
    segments: list[np.ndarray] = []
    current = np.zeros(2, np.float64)
    index = 0
    while index < len(tokens):
        command = tokens[index]
        if not isinstance(command, str):
            raise BadInput(f"{where}: unexpected number {command} in its d attribute.")
        if command not in "MmCcLl":
            raise BadInput(
                f"{where} uses the path command {command!r}; only M, C and L "
                "(open strokes, as CLIPasso writes) are supported."
            )
        index += 1
        numbers: list[float] = []
        while index < len(tokens) and not isinstance(tokens[index], str):
            numbers.append(tokens[index])
            index += 1
        per = {"m": 2, "l": 2, "c": 6}[command.lower()]
        if not numbers or len(numbers) % per:
            raise BadInput(
                f"{where}: the {command} command needs a multiple of {per} coordinates, got "
                f"{len(numbers)}."
            )
        current = _draw_command(command, numbers, per, current, segments)
    if not segments:
        raise BadInput(f"{where} has no curve segments (only a moveto), so it draws no stroke.")
    segments = [s.astype(np.float32) for s in segments]
    if not all(np.isfinite(s).all() for s in segments):
        raise BadInput(f"{where} has a coordinate too large for float32.")
    return segments


def _path_tokens(d: str, where: str) -> list[str | float]:
    """A path's `d` as command letters and numbers, checked to be readable, finite and to
    start with a moveto, before any segment is built."""
    if re.search(r"nan|inf", d, re.IGNORECASE):
        raise BadInput(f"{where} has a NaN or infinite coordinate in its d attribute.")
    tokens: list[str | float] = []
    position = 0
    d = d.strip()
    while position < len(d):
        match = _PATH_TOKEN.match(d, position)
        if match is None or match.end() == position:
            raise BadInput(
                f"{where}: cannot read its d attribute at {d[position : position + 20]!r}."
            )
        tokens.append(match.group(1) or float(match.group(2)))
        position = match.end()
    if not tokens:
        raise BadInput(f"{where} has an empty d attribute.")
    if not isinstance(tokens[0], str) or tokens[0] not in "Mm":
        raise BadInput(f"{where}: its d attribute must start with M (a moveto), not {tokens[0]!r}.")
    return tokens


def _draw_command(
    command: str, numbers: list[float], per: int, current: np.ndarray, segments: list[np.ndarray]
) -> np.ndarray:
    """Append the cubics that one M/C/L command (with `numbers`, `per` at a time: repeats
    repeat the command) draws from the point `current` to `segments`; returns the new
    current point."""
    relative = command.islower()
    for start in range(0, len(numbers), per):
        values = np.array(numbers[start : start + per], np.float64).reshape(-1, 2)
        if relative:
            values = values + current
        if command in "Mm" and start == 0:
            current = values[0]
        elif command in "Cc":
            segments.append(np.vstack([current, values]))
            current = values[-1]
        else:  # L, or the implicit lineto after M's first pair
            end = values[0]
            segments.append(
                np.stack(
                    [
                        current,
                        current + (end - current) / 3,
                        current + 2 * (end - current) / 3,
                        end,
                    ]
                )
            )
            current = end
    return current
