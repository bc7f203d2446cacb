"""The 8×8 handwritten digits: a small real image dataset bundled with the sandbox.

1,797 images of 8×8 pixels with integer values 0 … 16, labels 0 … 9: the test set of the UCI
"Optical Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998), the same array
scikit-learn ships as ``load_digits``. Stored once as ``assets/digits/digits.npz`` (uint8,
compressed, ~45 kB) with its licence and attribution beside it; nothing is downloaded and
scikit-learn is not needed.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from sandbox.resources import data_dir

PIXEL_MAX = 16  # each pixel counts the "on" cells of a 4×4 block of the 32×32 original


@functools.cache
def _arrays() -> tuple[np.ndarray, np.ndarray]:
    with np.load(data_dir("assets") / "digits" / "digits.npz") as file:
        return file["pixels"], file["labels"]  # shapes (1797, 8, 8) and (1797,), uint8


def load_digits(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` of the images, chosen and ordered by one seeded shuffle, as inputs (n, 64) in
    [0, 1] (pixels / 16, row-major) and labels (n,) int64.

    Raises
    ------
    ValueError
        If ``n`` exceeds the 1,797 images (the scenario checks refuse it first).
    """
    pixels, labels = _arrays()
    if not 1 <= n <= len(labels):
        raise ValueError(f"digits has {len(labels):,} images, asked for {n:,}")
    order = torch.randperm(len(labels), generator=gen)[:n].numpy()
    x = torch.from_numpy(pixels[order].reshape(n, -1).astype(np.float32) / PIXEL_MAX)
    return x, torch.from_numpy(labels[order].astype(np.int64))
