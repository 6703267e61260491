"""images.csv: building it from class folders, validating hand-written ones, the bundled photos."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sketchgen.images import read_images_csv, scan_image_folder, write_images_csv
from sketchlab.errors import BadInput
from tests.conftest import REPO

DATA = REPO / "data"


def photo(path: Path, seed: int, size=(12, 8)) -> Path:
    """A small distinct RGB photo (different seeds give different bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def mask(path: Path, size=(12, 8)) -> Path:
    Image.new("L", size, 255).save(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    photo(root / "cat" / "tom.png", 1)
    photo(root / "cat" / "felix.jpg", 2)
    photo(root / "dog" / "rex.png", 3)
    mask(root / "dog" / "rex_mask.png")
    (root / "dog" / "notes.txt").write_text("not a photo, ignored")
    return root


def test_folder_becomes_one_row_per_photo_with_class_and_mask(folder: Path) -> None:
    table = scan_image_folder(folder)
    assert table["image_id"].tolist() == ["felix", "tom", "rex"]
    assert table["class"].tolist() == ["cat", "cat", "dog"]
    assert table.set_index("image_id")["mask_path"].to_dict() == {
        "felix": None,
        "tom": None,
        "rex": str((folder / "dog" / "rex_mask.png").resolve()),
    }


def test_csv_paths_are_relative_to_the_csv_and_read_back(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "study" / "images.csv"
    write_images_csv(scan_image_folder(folder), out)
    text = out.read_text()
    assert text.splitlines()[0] == (
        "image_id,class,path,mask_path,file_name,width,height,orientation"
    )
    assert "felix,cat,../photos/cat/felix.jpg,,felix.jpg,12,8,1" in text
    assert "rex,dog,../photos/dog/rex.png,../photos/dog/rex_mask.png" in text
    table = read_images_csv(out)
    assert Path(table.loc[2, "path"]) == (folder / "dog" / "rex.png").resolve()
    assert table.loc[0, "mask_path"] is None


def test_csv_without_any_mask_has_no_mask_column(tmp_path: Path) -> None:
    photo(tmp_path / "p" / "a" / "x.png", 1)
    write_images_csv(scan_image_folder(tmp_path / "p"), tmp_path / "images.csv")
    assert (tmp_path / "images.csv").read_text().splitlines() == [
        "image_id,class,path,file_name,width,height,orientation",
        "x,a,p/a/x.png,x.png,12,8,1",
    ]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda r: (r / "dog" / "copy.png").write_bytes((r / "cat" / "tom.png").read_bytes()),
            "byte-identical",
        ),
        (
            lambda r: (r / "cat" / "broken.jpg").write_text("hello"),
            r"broken\.jpg is not a readable image",
        ),
        (lambda r: (r / "bird").mkdir(), r"class folder .*bird holds no photos"),
        (lambda r: photo(r / "loose.png", 7), r"loose\.png is not inside a class folder"),
        (lambda r: mask(r / "cat" / "ghost_mask.png"), r"ghost_mask\.png has no photo beside it"),
        (
            lambda r: mask(r / "cat" / "tom_mask.png", size=(5, 5)),
            r"tom_mask\.png is 5x5 pixels but its photo is 12x8",
        ),
        (lambda r: photo(r / "none" / "z.png", 8), "class name 'none' is reserved"),
        (lambda r: photo(r / "a|b" / "z.png", 8), r"class name 'a\|b' contains \|"),
        (lambda r: photo(r / "cat" / "tom_mask.jpg", 6), r"tom_mask\.jpg looks like a mask"),
    ],
    ids=[
        "identical-bytes",
        "corrupt",
        "empty-class",
        "no-class",
        "orphan-mask",
        "mask-size",
        "class-none",
        "class-separator",
        "jpeg-mask",
    ],
)
def test_folder_problems_are_refused_with_one_sentence(folder: Path, make, expected: str) -> None:
    make(folder)
    with pytest.raises(BadInput, match=expected):
        scan_image_folder(folder)


def test_truncated_photo_is_refused(folder: Path) -> None:
    data = (folder / "cat" / "felix.jpg").read_bytes()
    (folder / "cat" / "felix.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match=r"felix\.jpg is not a readable image"):
        scan_image_folder(folder)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("image_id,path\nx,photos/cat/tom.png\n", r"images\.csv lacks the column\(s\) class"),
        (
            "image_id,class,path\nx,,photos/cat/tom.png\n",
            r"images\.csv row 2, field class is empty",
        ),
        (
            "image_id,class,path\nx,cat,photos/cat/tom.png\nx,cat,photos/cat/felix.jpg\n",
            r"row 3, field image_id: \"x\" is already used in row 2",
        ),
        (
            "image_id,class,path\nx,cat,photos/cat/nope.png\n",
            r"row 2, field path: photos/cat/nope\.png does not exist",
        ),
        (
            "image_id,class,path\nx,cat,photos/cat/tom.png\ny,cat,photos/cat/tom.png\n",
            r"row 3, field path: photos/cat/tom\.png is already listed in row 2",
        ),
        (
            "image_id,class,path\nx,none,photos/cat/tom.png\n",
            r"row 2, field class: class name 'none' is reserved",
        ),
        (
            "image_id,class,path\na/b,cat,photos/cat/tom.png\n",
            r"row 2, field image_id: the image_id 'a/b' must be 1-52 of A-Z a-z 0-9 _ -",
        ),
        ("image_id,class,path\n", r"lists no images"),
    ],
    ids=[
        "missing-column",
        "empty-class",
        "duplicate-id",
        "missing-file",
        "same-file-twice",
        "class-none",
        "id-with-slash",
        "no-rows",
    ],
)
def test_hand_written_csv_problems_name_file_row_and_field(
    folder: Path, rows: str, expected: str
) -> None:
    csv_path = write_csv(folder.parent / "images.csv", rows)
    with pytest.raises(BadInput, match=expected):
        read_images_csv(csv_path)


def test_mask_of_the_wrong_size_is_refused(folder: Path) -> None:
    mask(folder / "cat" / "small.png", size=(3, 3))
    csv_path = write_csv(
        folder.parent / "images.csv",
        "image_id,class,path,mask_path\nt,cat,photos/cat/tom.png,photos/cat/small.png\n",
    )
    with pytest.raises(
        BadInput, match=r"row 2, field mask_path: .*3x3 pixels but its photo is 12x8"
    ):
        read_images_csv(csv_path)


def test_unknown_class_is_refused_when_classes_are_given(folder: Path) -> None:
    csv_path = write_csv(
        folder.parent / "images.csv", "image_id,class,path\nt,cow,photos/cat/tom.png\n"
    )
    assert read_images_csv(csv_path)["class"].tolist() == ["cow"]
    with pytest.raises(
        BadInput, match=r"row 2, field class: \"cow\" is not one of the classes cat, dog"
    ):
        read_images_csv(csv_path, classes=["cat", "dog"])


def test_hand_written_csv_keeps_extra_columns_and_tolerates_spaces(folder: Path) -> None:
    csv_path = write_csv(
        folder.parent / "images.csv",
        "image_id, class, path, mask_path, note\nt, cat, photos/cat/tom.png, , tabby\n",
    )
    table = read_images_csv(csv_path)
    assert table.loc[0, "image_id"] == "t" and table.loc[0, "note"] == "tabby"
    assert table.loc[0, "mask_path"] is None


def test_cli_exits_2_with_one_sentence_and_leaves_old_csv(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "images.csv"
    out.write_text("old\n")
    (folder / "bird").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "sketchlab", "images", str(folder), "--out", str(out)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("sketchlab: class folder")
    assert len(result.stderr.strip().splitlines()) == 1
    assert out.read_text() == "old\n"
    assert list(tmp_path.glob(".images*")) == []


def test_bundled_photos_are_listed_with_source_and_licence() -> None:
    table = read_images_csv(DATA / "images.csv")
    assert len(table) >= 10 and table["class"].nunique() >= 5
    readme = (DATA / "README.md").read_text()
    for path in table["path"]:
        relative = Path(path).relative_to(DATA.resolve()).as_posix()
        assert f"`{relative}`" in readme, f"{relative} has no source/licence row in data/README.md"
    for path in table["path"]:
        with Image.open(path) as image:
            assert max(image.size) <= 512 and image.mode == "RGB"


def test_bundled_csv_is_what_sketchlab_images_writes(tmp_path: Path) -> None:
    fresh = write_images_csv(scan_image_folder(DATA / "photos"), tmp_path / "images.csv")
    pd.testing.assert_frame_equal(read_images_csv(DATA / "images.csv"), read_images_csv(fresh))


def test_awkward_file_and_folder_names_become_valid_distinct_ids(tmp_path: Path) -> None:
    """Class folders keep their names (display text); ids are safe file stems, a numeric
    suffix where two would collide, and the original file name is kept."""
    photo(tmp_path / "p" / "holm oak" / "Tree One.jpg", 1)
    photo(tmp_path / "p" / "café" / "Mona.Lisa.jpg", 2)
    photo(tmp_path / "p" / "café" / "Mona Lisa.png", 3)
    photo(tmp_path / "p" / "café" / "Crème brûlée.png", 4)
    table = scan_image_folder(tmp_path / "p")
    rows = {row["file_name"]: row for row in table.to_dict("records")}
    assert rows["Tree One.jpg"]["image_id"] == "Tree_One"
    assert rows["Tree One.jpg"]["class"] == "holm oak"
    assert rows["Crème brûlée.png"]["image_id"] == "Creme_brulee"
    assert {rows["Mona Lisa.png"]["image_id"], rows["Mona.Lisa.jpg"]["image_id"]} == {
        "Mona_Lisa",
        "Mona_Lisa_2",
    }
    assert rows["Mona.Lisa.jpg"]["class"] == "café"
    out = write_images_csv(table, tmp_path / "images.csv")
    assert read_images_csv(out)["image_id"].tolist() == table["image_id"].tolist()


def test_an_old_images_csv_gets_sizes_from_its_photos_and_a_changed_photo_is_refused(
    folder: Path,
) -> None:
    old = write_csv(folder.parent / "images.csv", "image_id,class,path\nt,cat,photos/cat/tom.png\n")
    table = read_images_csv(old)
    assert table.loc[0, ["width", "height", "orientation"]].tolist() == [12, 8, 1]
    stale = write_csv(
        folder.parent / "stale.csv",
        "image_id,class,path,width,height,orientation\nt,cat,photos/cat/tom.png,640,8,1\n",
    )
    with pytest.raises(
        BadInput,
        match=r"stale\.csv row 2, field width is 640 but the photo's is 12: the photo "
        r"changed since this images\.csv was written; rerun `sketchlab images`",
    ):
        read_images_csv(stale)
