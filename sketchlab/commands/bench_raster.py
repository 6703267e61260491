"""`sketchlab bench raster`: agreement with diffvg and speed of the rasterizer, per scene,
and its throughput on a batch of sketches."""

import json
import os
from pathlib import Path
from typing import Annotated

import typer


def bench_raster(
    scenes: Annotated[
        Path, typer.Option("--scenes", help="Folder of diffvg reference scenes (*.npz).")
    ] = Path("tests/data/diffvg"),
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every figure here as one JSON object.")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Timed runs per scene (median reported).")] = 10,
    threads: Annotated[int, typer.Option(help="torch CPU threads while timing.")] = 2,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "cpu",
    batch: Annotated[
        int, typer.Option(help="Sketches (224 px) per batch for the throughput; 0 = skip.")
    ] = 96,
) -> None:
    """Render every scene in SCENES on DEVICE; print agreement with diffvg and median times
    (ms), and 224 x 224 sketches rendered forward + backward per second at BATCH.

    OMP_WAIT_POLICY is left as set in the environment (libgomp's default was the fastest on
    a quiet machine); the title shows it.
    """
    from rich.console import Console
    from rich.table import Table

    from sketchgen.devices import parse_device
    from sketchlab.bench.raster import bench_raster as run_bench
    from sketchlab.bench.raster import geometric_mean
    from sketchlab.errors import BadInput
    from sketchlab.files import atomic_write

    if not scenes.is_dir():
        raise BadInput(f"--scenes {scenes}: not a folder.")
    if threads < 1:
        raise BadInput(f"--threads must be at least 1, got {threads}.")
    if batch < 0:
        raise BadInput(f"--batch must be 0 or more, got {batch}.")
    figures = run_bench(
        scenes, repeats=repeats, threads=threads, device=parse_device(device), batch=batch
    )
    rows = figures["scenes"]
    table = Table(
        title=f"rasterizer on {figures['device']} vs diffvg ({threads} threads, median of "
        f"{repeats}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')})"
    )
    columns = [
        ("file", "scene", "{}"),
        ("strokes", "N", "{}"),
        ("size", "px", "{}"),
        ("frac_pixels_off", "px off", "{:.5f}"),
        ("mean_abs_diff", "mean |d|", "{:.6f}"),
        ("grad_cos", "grad cos", "{:.4f}"),
        ("grad_norm_ratio", "norm ratio", "{:.3f}"),
        ("fwd_ms", "fwd ms", "{:.2f}"),
        ("fwd_bwd_ms", "f+b ms", "{:.2f}"),
        ("fwd_bwd_cpu_ms", "f+b cpu ms", "{:.2f}"),
        ("diffvg_fwd_bwd_ms", "diffvg f+b ms", "{:.1f}"),
        ("speedup", "speed-up", "{:.1f}x"),
        ("live_speedup", "live speed-up", "{:.1f}x"),
    ]
    columns = [column for column in columns if any(column[0] in row for row in rows)]
    for key, label, _ in columns:
        table.add_column(label, justify="left" if key == "file" else "right")
    for row in rows:
        table.add_row(*(fmt.format(row[key]) if key in row else "-" for key, _, fmt in columns))
    console = Console(width=max(Console().width, 160))
    console.print(table)
    for key, label in (("speedup", "stored diffvg timings"), ("live_speedup", "live pydiffvg")):
        values = [row[key] for row in rows if key in row]
        if values:
            console.print(
                f"forward+backward speed-up vs {label}: geometric mean "
                f"{geometric_mean(values):.1f}x, slowest scene {min(values):.1f}x"
            )
    if figures["batch_throughput"]:
        throughput = figures["batch_throughput"]
        console.print(
            f"batch of {throughput['batch']} sketches (224 px), forward+backward: "
            f"{throughput['fwd_bwd_ms_per_batch']:.1f} ms, "
            f"{throughput['sketches_per_s']:.0f} sketches/s"
        )
    if json_out is not None:
        with atomic_write(json_out) as handle:
            json.dump(figures, handle, indent=1)
        console.print(f"wrote {json_out}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    bench.command("raster")(bench_raster)
