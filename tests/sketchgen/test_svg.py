"""Sketch SVGs: CLIPasso/pydiffvg's format, exact round trips, CLIPasso's own files, bad files."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

from sketchgen.svg import read_svg, write_svg
from sketchlab.errors import BadInput
from tests.conftest import TEST_DATA

SVG_DATA = TEST_DATA / "svg"
NUMBER = r"-?\d+(?:\.\d+)?"


def strokes(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 4, 2, generator=generator) * 260 - 18  # some points off the canvas


def test_round_trip_gives_the_same_tensors(tmp_path: Path) -> None:
    points = strokes(16)
    half_widths = torch.linspace(0.5, 4.0, 16)
    colors = torch.rand(16, 4, generator=torch.Generator().manual_seed(1))
    colors[:, :3] = (colors[:, :3] * 255).round() / 255  # SVG's rgb() holds 8-bit channels
    write_svg(tmp_path / "s.svg", points, half_widths, (160, 224), colors)
    sketch = read_svg(tmp_path / "s.svg")
    assert torch.equal(sketch.points, points)
    assert torch.equal(sketch.half_widths, half_widths)
    assert torch.allclose(sketch.colors, colors, atol=1e-7)
    assert (sketch.width, sketch.height) == (224, 160)


def test_round_trip_is_exact_for_tiny_and_huge_coordinates(tmp_path: Path) -> None:
    magnitudes = 10.0 ** torch.arange(-6, 5).repeat_interleave(50).reshape(-1, 1, 1)
    points = (
        torch.randn(len(magnitudes), 4, 2, generator=torch.Generator().manual_seed(2)) * magnitudes
    )
    write_svg(tmp_path / "s.svg", points, 1.5, 224)
    assert torch.equal(read_svg(tmp_path / "s.svg").points, points)


def test_written_file_follows_pydiffvg_save_svg(tmp_path: Path) -> None:
    write_svg(tmp_path / "s.svg", strokes(3), 1.5, 224)
    root = ET.parse(tmp_path / "s.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("version"), root.get("width"), root.get("height")) == ("1.1", "224", "224")
    assert root.get("viewBox") is None
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) == 3
    for path in paths:
        assert re.fullmatch(rf"M {NUMBER} {NUMBER} C( {NUMBER}){{6}}", path.get("d"))
        assert path.get("fill") == "none"
        assert path.get("stroke") == "rgb(0, 0, 0)"
        assert path.get("stroke-opacity") == "1.0"
        assert path.get("stroke-width") == "3.0"  # 2 x diffvg's half-width 1.5
        assert path.get("stroke-linecap") == path.get("stroke-linejoin") == "round"
        assert path.get("transform") is None


def test_reads_an_svg_written_by_clipasso() -> None:
    sketch = read_svg(SVG_DATA / "clipasso_best_iter.svg")
    assert sketch.points.shape == (4, 4, 2) and sketch.points.dtype == torch.float32
    assert (sketch.width, sketch.height) == (224, 224)
    assert torch.equal(sketch.half_widths, torch.full((4,), 1.5))
    assert torch.equal(sketch.colors, torch.tensor([[0.0, 0.0, 0.0, 1.0]] * 4))
    expected_first = [
        [96.19178, 54.80331],
        [103.76416, 51.68472],
        [119.02869, 55.91301],
        [124.96317, 62.497],
    ]
    assert torch.equal(sketch.points[0], torch.tensor(expected_first))
    assert sketch.points[3, 2, 0].item() == pytest.approx(1.2e-05)  # numpy's exponent notation
    assert sketch.points[3, 0, 0].item() < 0  # strokes may leave the canvas


def test_a_path_with_several_cubics_becomes_one_stroke_per_cubic() -> None:
    sketch = read_svg(SVG_DATA / "multi_segment.svg")
    assert sketch.points.tolist()[:2] == [
        [[20, 30], [40, 10], [60, 10], [80, 30]],
        [[80, 30], [100, 50], [120, 50], [140, 30]],
    ]
    assert sketch.half_widths.tolist() == [1.0, 1.0, 1.5]
    assert torch.allclose(sketch.colors[0], torch.tensor([0.2, 0.4, 0.8, 0.5]))


def svg(body: str, root: str = 'width="100" height="80"') -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" {root}><g>{body}</g></svg>'


def stroke(d: str, extra: str = 'fill="none" stroke="black" stroke-width="2"') -> str:
    return f'<path d="{d}" {extra}/>'


def test_relative_commands_lines_and_inherited_style_are_read(tmp_path: Path) -> None:
    file = tmp_path / "s.svg"
    file.write_text(
        svg(
            '<g stroke="#ff0000" style="stroke-width: 4px">'
            '<path d="m 10 10 c 5 0 10 5 10 10 L 50 20" fill="none"/></g>'
        )
    )
    sketch = read_svg(file)
    assert sketch.points.tolist() == [
        [[10, 10], [15, 10], [20, 15], [20, 20]],
        [[20, 20], [30, 20], [40, 20], [50, 20]],
    ]
    assert sketch.half_widths.tolist() == [2.0, 2.0]
    assert sketch.colors[0].tolist() == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("this is not xml <", "is not an SVG file: it is not valid XML"),
        ("<html><body/></html>", "its root element is <html>, not <svg>"),
        (svg(""), "has no <path> strokes"),
        (svg(stroke("M 1 1 Q 2 2 3 3")), "path 1 uses the path command 'Q'"),
        (svg(stroke("M 1 1 C 2 2 3 3 4 4 Z")), "path 1 uses the path command 'Z'"),
        (svg(stroke("M 1 1 C 2 2 3 3 4 4") + stroke("M 1 1 C 2 NaN 3 3 4 4")), "path 2 has a NaN"),
        (svg(stroke("M 1 1 C 2 2 3 3")), "C command needs a multiple of 6 coordinates, got 4"),
        (svg(stroke("M 1 1")), "has no curve segments"),
        (svg(stroke("M 1 1 C 2 2 3 3 4 4", 'fill="red" stroke="black"')), 'is filled (fill="red")'),
        (svg(stroke("M 1 1 C 2 2 3 3 4 4", 'fill="none"')), "has no stroke colour"),
        (
            svg(stroke("M 1 1 C 2 2 3 3 4 4", 'fill="none" stroke="black" stroke-width="inf"')),
            'stroke-width="inf"',
        ),
        (
            svg(stroke("M 1 1 C 2 2 3 3 4 4", 'fill="none" stroke="black" transform="scale(2)"')),
            "has a transform",
        ),
        (svg('<circle cx="1" cy="1" r="2"/>'), "contains a <circle>"),
        (svg(stroke("M 1 1 C 2 2 3 3 4 4"), root='height="80"'), "the <svg> width is missing"),
        (
            svg(stroke("M 1 1 C 2 2 3 3 4 4"), root='width="100" height="80" viewBox="0 0 10 8"'),
            "rescales the drawing",
        ),
    ],
    ids=[
        "not-xml",
        "not-svg",
        "no-paths",
        "quadratic",
        "closed",
        "nan",
        "short-c",
        "moveto-only",
        "filled",
        "no-stroke",
        "inf-width",
        "transform",
        "circle",
        "no-width",
        "viewbox",
    ],
)
def test_corrupt_or_foreign_svg_is_refused_naming_file_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    file = tmp_path / "bad.svg"
    file.write_text(text)
    with pytest.raises(BadInput, match=re.escape(expected)) as error:
        read_svg(file)
    assert str(file) in str(error.value)


@pytest.mark.parametrize(
    ("points", "half_widths", "expected"),
    [
        (torch.full((2, 4, 2), float("nan")), 1.5, "NaN or infinite"),
        (torch.zeros(0, 4, 2), 1.5, "at least one stroke"),
        (torch.zeros(2, 3, 2), 1.5, "shape (N, 4, 2)"),
        (torch.zeros(2, 4, 2), -1.0, "half_widths must be positive"),
        (torch.zeros(2, 4, 2), torch.ones(3), "half_widths must have shape (2,)"),
    ],
    ids=["nan", "empty", "shape", "negative-width", "width-count"],
)
def test_bad_strokes_are_refused_and_nothing_is_written(
    tmp_path: Path, points, half_widths, expected
) -> None:
    with pytest.raises(BadInput, match=re.escape(expected)):
        write_svg(tmp_path / "s.svg", points, half_widths, 224)
    assert list(tmp_path.iterdir()) == []
