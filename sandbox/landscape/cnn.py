"""A small convolutional network written as a pure function of one flat parameter vector θ.

The image counterpart of `sandbox.landscape.mlp.FlatMLP`, with the same interface (``blocks``,
``n_params``, ``n_layers``, ``init_params``, ``forward``, ``forward_batched``,
``layer_grad_norms``), so that optimisers, slices, Hessians and sharpness see only θ.

Each input row is read as an image (C, H, W); every entry of ``channels`` is a 3×3 convolution
with padding 1, then the activation, then (``pool``) a 2×2 max or average pooling of stride 2;
a Linear head maps the flattened feature map to the classes. Layout of θ: ``layer{i}.weight``
(out, in, 3, 3) and ``layer{i}.bias`` (out,) for each convolution, then the head's
``layer{L}.weight`` (classes, features) and ``layer{L}.bias``. A weight block's first axis is
its filters (neurons), which is what filter-normalised directions rescale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sandbox.catalogue.convnets import KERNEL, conv_shapes, head_inputs
from sandbox.landscape.mlp import ParamBlock, WeightLayers, activation, init_weight
from sandbox.scenario.schema import ModelSpec

PADDING = KERNEL // 2  # keeps the image size


class FlatCNN:
    """A cnn whose parameters all live in one flat vector θ.

    Parameters
    ----------
    spec
        ``kind = "cnn"``: channels, pool, activation, init and gain.
    image
        (channels, height, width) of one input image; inputs arrive flattened row-major.
    outputs
        The head's width (the number of classes).
    """

    def __init__(self, spec: ModelSpec, image: tuple[int, int, int], outputs: int):
        self.spec, self.image = spec, image
        self._act = activation(spec.activation)
        shapes = [
            (s.channels_out, s.channels_in, KERNEL, KERNEL)
            for s in conv_shapes(spec.channels, image, spec.pool)
        ]
        shapes.append((outputs, head_inputs(spec.channels, image, spec.pool)))
        self.n_layers = len(shapes)
        blocks, offset = [], 0
        for i, shape in enumerate(shapes):
            for name, block_shape in ((f"layer{i}.weight", shape), (f"layer{i}.bias", shape[:1])):
                blocks.append(ParamBlock(name, i, block_shape, offset))
                offset += blocks[-1].numel
        self.blocks: tuple[ParamBlock, ...] = tuple(blocks)
        self.n_params: int = offset
        self._weight_layers = WeightLayers(self.blocks, offset, self.n_layers)

    def _layer(self, i: int) -> tuple[ParamBlock, ParamBlock]:
        return self.blocks[2 * i], self.blocks[2 * i + 1]

    def init_params(self, seed: int) -> torch.Tensor:
        """Initial θ (shape (P,), float32), deterministic from ``seed``.

        As FlatMLP's, with a filter's fan-in = in-channels × 3 × 3 (torch's convention): ``he``
        std gain·√(2/fan_in), ``xavier`` gain·√(2/(fan_in + fan_out)), ``orthogonal`` on the
        filters as rows, ``normal`` gain/√fan_in. Biases start at 0.
        """
        gen = torch.Generator().manual_seed(seed)
        theta = torch.zeros(self.n_params)
        for block in self.blocks[::2]:
            block.view(theta).copy_(init_weight(self.spec, block.shape, gen))
        return theta

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        if self.spec.pool == "max":
            return max_pool(h)
        return F.avg_pool2d(h, 2) if self.spec.pool == "avg" else h

    def forward(
        self,
        theta: torch.Tensor,
        x: torch.Tensor,
        *,
        train: bool = False,
        generator: torch.Generator | None = None,
        record: list | None = None,
    ) -> torch.Tensor:
        """Outputs (n, classes) of the network with parameters θ (P,) on inputs x (n, C·H·W).

        ``train`` and ``generator`` are accepted for FlatMLP's interface; a cnn has no dropout.
        ``record``, if a list, receives each convolution layer's output (after pooling).
        """
        h = x.to(theta.dtype).view(-1, *self.image)  # shape (n, C, H, W)
        for i in range(self.n_layers - 1):
            weight, bias = (b.view(theta) for b in self._layer(i))
            h = self._pool(self._act(F.conv2d(h, weight, bias, padding=PADDING)))
            if record is not None:
                record.append(h)
        weight, bias = (b.view(theta) for b in self._layer(self.n_layers - 1))
        return torch.addmm(bias, h.flatten(1), weight.T)

    def forward_batched(self, thetas: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Outputs (G, n, classes) for G parameter vectors ``thetas`` (G, P).

        One network after another, each a convolution over all n images: on this project's CPU
        that was 1.5-4× faster than one grouped convolution over all G networks (network g's
        channels as group g), measured for G = 16 from 1,898 to 105,066 parameters on 256 and
        1,024 digits (oneDNN's grouped kernels are the slow part).
        """
        return torch.stack([self.forward(theta, x) for theta in thetas])

    def layer_grad_norms(self, grad: torch.Tensor) -> torch.Tensor:
        """Norm of each layer's weight gradient (convolutions, then the head), shape (n_layers,)."""
        return self._weight_layers.norms(grad)


def max_pool(h: torch.Tensor) -> torch.Tensor:
    """2×2 max pooling of stride 2, the same numbers either way. Without autograd the images are
    pooled channels-last: on this project's CPU 3.4× faster (5.1 against 17.0 ms for 1,024
    digits × 40 channels, conversions included), and a surface's cost was half pooling. With
    autograd the plain layout is kept: where maxima tie (a saturated tanh gives exact 1.0s) the
    two kernels may pass the gradient to different pixels, and trajectories would change."""
    if torch.is_grad_enabled():
        return F.max_pool2d(h, 2)
    return F.max_pool2d(h.contiguous(memory_format=torch.channels_last), 2).contiguous()
