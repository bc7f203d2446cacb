"""Shape facts of the convolutional model kind (``kind = "cnn"``), computed without building it.

A cnn reads each input row as an image (``IMAGE_SHAPES``: channels, height, width), applies one
3×3 convolution with padding 1 per entry of ``channels`` (size kept), each followed by the
activation and, with ``pool`` = "max" or "avg", a 2×2 pooling of stride 2 (size halved, rounded
down), then one Linear head from the flattened feature map to the classes. The scenario checks
and the cost estimate use these numbers; `sandbox.landscape.cnn` builds the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Datasets whose rows are images: (channels, height, width) of one image.
IMAGE_SHAPES = {"digits": (1, 8, 8)}
KERNEL = 3  # 3×3 filters, padding 1: a layer keeps the image size
POOLS = ("none", "max", "avg")


@dataclass(frozen=True)
class ConvShape:
    """One convolution layer: channels in and out, image side before and after its pooling."""

    channels_in: int
    channels_out: int
    size_in: tuple[int, int]
    size_out: tuple[int, int]

    @property
    def n_params(self) -> int:
        """Its filters' weights and biases."""
        return self.channels_out * (self.channels_in * KERNEL * KERNEL + 1)

    @property
    def macs(self) -> int:
        """Multiply-adds of one sample's forward pass through it."""
        return self.channels_out * self.channels_in * KERNEL * KERNEL * math.prod(self.size_in)

    @property
    def units(self) -> int:
        """Values it outputs per sample (before pooling: the activations autograd keeps)."""
        return self.channels_out * math.prod(self.size_in)


def conv_shapes(
    channels: tuple[int, ...], image: tuple[int, int, int], pool: str
) -> list[ConvShape]:
    """The convolution layers of a cnn on images of shape ``image``; a size may reach 0 (the
    scenario checks refuse that)."""
    shapes, c_in, size = [], image[0], image[1:]
    for c_out in channels:
        after = size if pool == "none" else (size[0] // 2, size[1] // 2)
        shapes.append(ConvShape(c_in, c_out, size, after))
        c_in, size = c_out, after
    return shapes


def head_inputs(channels: tuple[int, ...], image: tuple[int, int, int], pool: str) -> int:
    """Width of the flattened feature map the Linear head reads."""
    last = conv_shapes(channels, image, pool)[-1]
    return last.channels_out * math.prod(last.size_out)


def cnn_parameters(
    channels: tuple[int, ...], image: tuple[int, int, int], pool: str, outputs: int
) -> int:
    """Parameters of the cnn: every filter bank and bias, then the head."""
    convs = sum(s.n_params for s in conv_shapes(channels, image, pool))
    return convs + (head_inputs(channels, image, pool) + 1) * outputs


def cnn_macs(
    channels: tuple[int, ...], image: tuple[int, int, int], pool: str, outputs: int
) -> int:
    """Multiply-adds of one sample's forward pass (convolutions share weights across pixels, so
    this is far more than the parameter count)."""
    convs = sum(s.macs for s in conv_shapes(channels, image, pool))
    return convs + head_inputs(channels, image, pool) * outputs


def cnn_units(
    channels: tuple[int, ...], image: tuple[int, int, int], pool: str, outputs: int
) -> int:
    """Values computed per sample, layer outputs and head (what autograd keeps)."""
    return sum(s.units for s in conv_shapes(channels, image, pool)) + outputs
