"""`sketchlab images DIR`: the images.csv for a folder with one sub-folder of photos per class."""

from pathlib import Path
from typing import Annotated

import typer


def images(
    folder: Annotated[Path, typer.Argument(help="Folder with one sub-folder of photos per class.")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="CSV to write; its paths are relative to its folder."),
    ] = Path("images.csv"),
) -> None:
    """Write images.csv (image_id, class, path[, mask_path]) for FOLDER/<class>/<photo>.

    A `<name>_mask.png` beside a photo is taken as its foreground mask (white = object).
    """
    from sketchgen.images import scan_image_folder, write_images_csv

    table = scan_image_folder(folder)
    write_images_csv(table, out)
    masks = int(table["mask_path"].notna().sum())
    print(
        f"wrote {out}: {len(table)} photos in {table['class'].nunique()} classes "
        f"({', '.join(sorted(table['class'].unique()))}), {masks} with masks"
    )


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("images")(images)
