"""Scenario checks of the model kind (mlp, cnn, or a handed-over module) and of datasets read
from bundled files.

Part of `sandbox.scenario.rules`: each check returns (key path, reason) pairs, the loader adds
file and line. A cnn needs image data and keeps at least one pixel through its pooling; keys of
the other model kind are refused rather than ignored.
"""

from __future__ import annotations

from collections.abc import Iterator

from sandbox.catalogue.convnets import IMAGE_SHAPES, conv_shapes
from sandbox.catalogue.networks import FILE_SIZES, GIVEN_LOSS, KEYS_FOR_KIND
from sandbox.scenario.schema import DataSpec, NetworkLandscape

Found = Iterator[tuple[tuple, str]]

MODULE_ONLY = (
    'kind = "module" is a torch module handed over from Python (sandbox.show, '
    'sandbox.replay_model); a scenario file cannot hold one: use kind = "mlp" or "cnn"'
)
CALLABLE_ONLY = (
    'loss = "callable" is a Python function handed over with a module (sandbox.show); '
    "a scenario file names one of the losses instead"
)


def model_kind_problems(land: NetworkLandscape) -> Found:
    """An mlp has widths, a cnn channels (on images it keeps at least one pixel); keys of the
    other kind are refused, not ignored."""
    model, here = land.model, ("landscape", "model")
    for key, kind in KEYS_FOR_KIND.items():
        if key in model.model_fields_set and model.kind != kind:
            yield (*here, key), f'applies to kind = "{kind}" only (this model is "{model.kind}")'
    if land.loss == GIVEN_LOSS and (model.user is None or model.user.loss is None):
        yield ("landscape", "loss"), CALLABLE_ONLY
    if model.kind == "module":
        if model.user is None:
            yield (*here, "kind"), MODULE_ONLY
        return
    if model.kind == "cnn" and land.data.name not in IMAGE_SHAPES:
        images = ", ".join(repr(name) for name in IMAGE_SHAPES)
        yield (
            (*here, "kind"),
            f'kind = "cnn" needs image data (dataset {images}), got {land.data.name!r}',
        )
    needed = "widths" if model.kind == "mlp" else "channels"
    if getattr(model, needed) is None:
        yield (*here, needed), f'kind = "{model.kind}" needs {needed} = [...]'
    elif model.kind == "cnn" and land.data.name in IMAGE_SHAPES:
        image = IMAGE_SHAPES[land.data.name]
        shapes = conv_shapes(model.channels, image, model.pool)
        if min(shapes[-1].size_out) < 1:
            fits = sum(min(s.size_out) >= 1 for s in shapes)
            yield (
                (*here, "channels"),
                (
                    f"{len(shapes)} layers each pooled 2×2 shrink the {image[1]}×{image[2]} "
                    f"images to nothing; at most {fits} fit with pool = {model.pool!r}"
                ),
            )


def unbuildable(land: NetworkLandscape) -> bool:
    """Whether the model's shape cannot be counted (reported by `model_kind_problems`)."""
    return any(True for _ in model_kind_problems(land))


def file_data_problems(data: DataSpec) -> Found:
    """A bundled dataset has a fixed number of rows and gets no noise."""
    if data.name not in FILE_SIZES:
        return
    here, size = ("landscape", "data"), FILE_SIZES[data.name]
    if "noise" in data.model_fields_set:
        yield (
            (*here, "noise"),
            f"has no effect on {data.name!r}: real images, to which no noise is added",
        )
    if data.n > size:
        yield (*here, "n"), f"{data.name!r} has {size:,} images; n = {data.n:,} is more"
