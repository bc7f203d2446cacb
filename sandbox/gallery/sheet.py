"""The gallery's contact sheet: every frame as a labelled thumbnail, one row per scenario."""

from __future__ import annotations

import numpy as np

from sandbox.gallery.folder import GalleryFolder

THUMB_WIDTH = 320
LABEL_PX = 15
PAD = 8
SHEET_BACKDROP = (32, 32, 36)
LABEL_COLOR = (235, 235, 235)


def contact_sheet(folder: GalleryFolder) -> np.ndarray:
    """Every frame in the folder as a labelled thumbnail: one row per scenario, in step order."""
    from PIL import Image

    rows: dict[str, list[tuple[str, Image.Image]]] = {}
    for shot in sorted(folder.shots.values(), key=lambda s: (s.scenario, s.step)):
        with Image.open(folder.root / shot.file) as image:
            thumb = _thumbnail(image.convert("RGB"))
        rows.setdefault(shot.scenario, []).append((f"{shot.scenario}  step {shot.step}", thumb))
    return sheet(list(rows.values()))


def _thumbnail(image):
    from PIL import Image

    height = max(1, round(image.height * THUMB_WIDTH / image.width))
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)


def sheet(rows: list[list[tuple[str, object]]]) -> np.ndarray:
    """(H, W, 3) uint8: rows of (label, PIL image) cells, each label above its image."""
    from PIL import Image, ImageDraw, ImageFont

    from sandbox.render.text import FONT_BOLD, font_path

    columns = max((len(row) for row in rows), default=1)
    cell_w = max((image.width for row in rows for _, image in row), default=THUMB_WIDTH)
    cell_h = max((image.height for row in rows for _, image in row), default=1) + LABEL_PX + 6
    width, height = PAD + columns * (cell_w + PAD), PAD + len(rows) * (cell_h + PAD)
    canvas = Image.new("RGB", (width, height), SHEET_BACKDROP)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(font_path(FONT_BOLD)), LABEL_PX)
    for r, row in enumerate(rows):
        for c, (label, image) in enumerate(row):
            x, y = PAD + c * (cell_w + PAD), PAD + r * (cell_h + PAD)
            draw.text((x, y), label, fill=LABEL_COLOR, font=font)
            canvas.paste(image, (x, y + LABEL_PX + 6))
    return np.asarray(canvas)
