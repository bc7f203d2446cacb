"""Networks by name: datasets, losses, activations and initialisations, with their shape facts.

The schema takes the names from here; the scenario checks ask `check_compatible` whether model,
data and loss fit together, before anything is generated or built (cheap for any size).
`sandbox.landscape.data` generates each dataset (``digits`` is read from a bundled file: real 8×8
images, see assets/digits/), `sandbox.landscape.mlp` implements each loss, activation and
initialisation. `sandbox.catalogue.convnets` has the shape facts of the ``cnn`` model kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.catalogue.convnets import IMAGE_SHAPES

if TYPE_CHECKING:
    from sandbox.scenario.schema import DataSpec, ModelSpec

DATASETS = ("moons", "spirals", "circles", "xor", "gaussians", "sine", "low_rank", "digits")
MODEL_KINDS = ("mlp", "cnn", "module")  # module: a torch module handed over from Python
LOSSES = ("mse", "bce", "cross_entropy", "mae", "huber")
# The loss of a module handed over from Python with a function of its own (sandbox.show).
GIVEN_LOSS = "callable"
ACTIVATIONS = ("tanh", "relu", "sigmoid", "gelu", "linear")
INITS = ("he", "xavier", "orthogonal", "normal")
# Datasets whose number of classes is fixed; the others take DataSpec.classes.
FIXED_CLASSES = {"moons": 2, "circles": 2, "xor": 2, "sine": 0, "low_rank": 0, "digits": 10}
# Datasets read from bundled files: how many rows each has (``n`` takes a seeded subset).
FILE_SIZES = {"digits": 1_797}
# ModelSpec keys that apply to one model kind only (validated in sandbox.scenario.rules).
KEYS_FOR_KIND = {
    "widths": "mlp",
    "skip": "mlp",
    "batchnorm": "mlp",
    "dropout": "mlp",
    "channels": "cnn",
    "pool": "cnn",
    "module": "module",
}
# DataSpec keys that apply to some datasets only (validated in sandbox.scenario.rules).
KEYS_FOR_DATASET = {"dim": ("low_rank",), "rank": ("low_rank",)}


# A file's facts come from its arrays (`DataSpec.table`, read when the scenario is validated).


def n_classes_of(spec: DataSpec) -> int:
    """Number of classes the spec's dataset has (0 for the regression datasets)."""
    if spec.table is not None:
        return spec.table.n_classes
    return FIXED_CLASSES.get(spec.name, spec.classes)


def input_dim_of(spec: DataSpec) -> int:
    """Input dimension of the spec's dataset: a data file's column count, 1 for ``sine``,
    ``dim`` for ``low_rank``, an image's pixel count for image data (64 for ``digits``), else 2."""
    if spec.table is not None:
        return spec.table.input_dim
    if spec.name in IMAGE_SHAPES:
        c, h, w = IMAGE_SHAPES[spec.name]
        return c * h * w
    return {"sine": 1, "low_rank": spec.dim}.get(spec.name, 2)


def output_width(spec_model: ModelSpec, spec_data: DataSpec) -> int:
    """Width of the network's output: the last of ``widths`` for an mlp, the number of classes
    for a cnn (its head is sized to the data), what a handed-over module returns."""
    if spec_model.kind == "module":
        return spec_model.user.outputs
    return spec_model.widths[-1] if spec_model.kind == "mlp" else n_classes_of(spec_data)


def target_dim_of(spec: DataSpec) -> int:
    """Width of a regression target: ``dim`` for ``low_rank``, else 1 (0 for classification)."""
    if spec.table is not None:
        return spec.table.target_dim
    if n_classes_of(spec):
        return 0
    return spec.dim if spec.name == "low_rank" else 1


def n_rows_of(spec: DataSpec) -> int:
    """Number of samples: the file's rows, or ``n`` for a generated dataset."""
    return spec.table.rows if spec.table is not None else spec.n


def data_label(spec: DataSpec) -> str:
    """The dataset as messages name it: 'moons', or the file's name."""
    return (
        repr(spec.name) if spec.file is None else repr(spec.file.replace("\\", "/").split("/")[-1])
    )


def loss_problems(
    loss: str, task: str, n_classes: int, out_dim: int, target_dim: int = 1
) -> list[tuple[str, str]]:
    """(``"loss"`` or ``"widths"``, reason) for each way the loss does not fit data and width."""
    if loss == GIVEN_LOSS:  # the caller's own function: it says itself what it accepts
        return []
    if loss in ("bce", "cross_entropy") and task == "regression":
        return [("loss", f"loss {loss!r} needs a classification dataset, not regression data")]
    if loss == "bce" and n_classes != 2:
        return [
            (
                "loss",
                f"loss 'bce' needs a 2-class dataset, got {n_classes} classes "
                "(use 'cross_entropy')",
            )
        ]
    if loss == "bce" and out_dim != 1:
        return [("widths", f"loss 'bce' needs output width 1, got {out_dim}")]
    if loss == "cross_entropy" and out_dim != n_classes:
        return [
            (
                "widths",
                f"loss 'cross_entropy' needs output width equal to the number of "
                f"classes {n_classes}, got {out_dim}",
            )
        ]
    if task == "regression" and out_dim != target_dim:
        return [
            (
                "widths",
                f"loss {loss!r} on regression data needs output width {target_dim} "
                f"(the targets' width), got {out_dim}",
            )
        ]
    if task == "classification" and out_dim != n_classes and not (out_dim == 1 and n_classes == 2):
        return [
            (
                "widths",
                f"loss {loss!r} on {n_classes}-class data needs output width "
                f"{n_classes} (one-hot targets)"
                + (" or 1 (±1 targets)" if n_classes == 2 else "")
                + f", got {out_dim}",
            )
        ]
    return []


def check_compatible(
    spec_model: ModelSpec, spec_data: DataSpec, loss_name: str
) -> list[tuple[tuple, str]]:
    """(key path, reason) for every way model, data and loss do not fit together.

    Cheap: nothing is generated or built, so the scenario validator can call it on any size.
    """
    here = ("landscape",)
    problems: list[tuple[tuple, str]] = []
    dim, k = input_dim_of(spec_data), n_classes_of(spec_data)
    if spec_model.kind == "mlp" and spec_model.widths[0] != dim:  # a cnn's input is its image
        problems.append(
            (
                (*here, "model", "widths"),
                (
                    f"widths[0] must equal the data's input dimension {dim} "
                    f"({data_label(spec_data)}), "
                    f"got {spec_model.widths[0]}"
                ),
            )
        )
    if spec_model.kind == "module" and spec_model.user.input_size != dim:
        user = spec_model.user
        shape = "×".join(map(str, user.input_shape))
        reason = f"the model takes inputs of shape {shape} ({user.input_size} values), "
        problems.append(((*here, "data"), reason + f"the data's rows have {dim}"))
    generated = spec_data.file is None  # a file's keys are checked by the scenario rules
    fixed = spec_data.name not in ("spirals", "gaussians")
    if generated and fixed and "classes" in spec_data.model_fields_set:
        if spec_data.classes != k:
            problems.append(
                (
                    (*here, "data", "classes"),
                    (
                        f"{spec_data.name!r} has a fixed number of classes; "
                        "'classes' applies to 'spirals' and 'gaussians' only"
                    ),
                )
            )
    if generated and k > spec_data.n:
        problems.append(((*here, "data", "n"), f"n = {spec_data.n} is fewer than the {k} classes"))
    task = "regression" if k == 0 else "classification"
    target_dim = target_dim_of(spec_data)
    out_dim, width_key = output_width(spec_model, spec_data), (*here, "model", "widths")
    if spec_model.kind in ("cnn", "module"):
        width_key = (*here, "model", "kind")
    for key, reason in loss_problems(loss_name, task, k, out_dim, target_dim):
        problems.append(((*here, "loss") if key == "loss" else width_key, reason))
    return problems
