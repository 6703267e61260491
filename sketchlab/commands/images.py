"""`sketchlab images DIR`: the images.csv for a folder with one sub-folder of photos per class."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from sketchlab.contracts import CANVAS


def images(
    folder: Annotated[Path, typer.Argument(help="Folder with one sub-folder of photos per class.")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="CSV to write; its paths are relative to its folder."),
    ] = Path("images.csv"),
    min_side: Annotated[
        int,
        typer.Option(
            min=1,
            help="Warn about photos whose short side is below this many pixels (they are "
            "enlarged to fill the 224-pixel canvas, so their targets are blurry).",
        ),
    ] = CANVAS,
) -> None:
    """Write images.csv (image_id, class, path[, mask_path], file_name, width, height,
    orientation) for FOLDER/<class>/<photo>.

    A `<name>_mask.png` beside a photo is taken as its foreground mask (white = object).
    Every problem in the folder is listed at once; nothing is written until there are none.
    """
    from sketchgen.images import photo_warnings, scan_image_folder, write_images_csv

    table = scan_image_folder(folder)
    for warning in photo_warnings(table, min_side=min_side):
        print(f"sketchlab: warning: {warning}", file=sys.stderr)
    write_images_csv(table, out)
    masks = int(table["mask_path"].notna().sum())
    turned = int((table["orientation"] != 1).sum())
    print(
        f"wrote {out}: {len(table)} photos in {table['class'].nunique()} classes "
        f"({', '.join(sorted(table['class'].unique()))}), {masks} with masks, {turned} turned "
        "upright by their EXIF orientation"
    )


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("images")(images)
