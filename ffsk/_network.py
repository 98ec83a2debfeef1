"""The Forward-Forward network in plain PyTorch: its layers and its forward
pass, written once.

Every computation that runs an input through the network lives here and is
used by the trainer (``_local_trainer.py``), the read-out trainer
(``_readout_trainer.py``), inference (``_inference.py``) and the displays:

* :func:`first_layer_base` — the first layer's length normalisation and its
  feature product, shared by every label of a row;
* :func:`first_layer_activity` — that product plus the embedded label's
  column, then ReLU (one label per row, every label, or the neutral label);
* :func:`hidden_forward` — a deeper layer: normalise, product, ReLU;
* :func:`summed_goodness` and :func:`neutral_activities` — the two read-outs'
  passes built from the three above.

Nothing here knows about scikit-learn. Shapes used throughout: ``n`` rows,
``d`` feature columns (the part of the input that is not the label), ``k``
classes, ``h`` units of a layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

#: Added to a row's length before dividing by it, so that an all-zero row
#: normalises to zero instead of NaN. Tiny, so that it never matters for a
#: row of any length float32 can square: the model does not depend on the
#: scale of X (rows far outside that range are rescaled by a power of two
#: first, see ``_label_embedding.py``).
NORM_EPS = 1e-20


def normalise_rows(
    x: torch.Tensor, dtype: torch.dtype | None = None, length: torch.Tensor | None = None
) -> torch.Tensor:
    """Scale each row of ``x`` to unit Euclidean length (zero rows stay zero),
    written in ``dtype`` (None: ``x``'s own) in the same pass. ``length``
    (``(n,)``) passes in the rows' lengths when the caller has them."""
    if length is None:
        length = torch.linalg.vector_norm(x, dim=-1)
    length = (length + NORM_EPS)[..., None]
    if dtype is None or dtype == x.dtype:
        return x / length
    # Divided in float32, then cast: element-wise ops that mix dtypes (an
    # ``out=`` in another dtype included) leave torch's vectorised kernels.
    return torch.div(x, length).to(dtype)


def goodness(activity: torch.Tensor) -> torch.Tensor:
    """Goodness of each row: the mean of its squared activities."""
    return activity.square().mean(dim=-1)


class Products:
    """The matrix products of a forward or training pass, in one precision.

    ``Products(None)`` multiplies float32 tensors as they are;
    ``Products(torch.bfloat16)`` casts both operands to bfloat16 and returns
    float32 results. Activities, lengths, goodness, gradients and optimiser
    state stay float32 either way.

    Casting costs a pass over memory per operand, so the callers cast what
    they use more than once only once: :meth:`operand` gives a tensor in the
    product dtype (no copy when it already is), :meth:`weights` casts a
    network's weight matrices once per training step, and
    :func:`normalise_rows` casts normalised inputs to the product dtype as it
    returns them. Products of operands already in that dtype cast nothing.
    """

    def __init__(self, dtype: torch.dtype | None = None):
        self.dtype = None if dtype == torch.float32 else dtype

    def operand(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` in the product dtype (itself when it already is)."""
        return tensor if self.dtype is None else tensor.to(self.dtype)

    def weights(self, weights: NetworkWeights) -> NetworkWeights:
        """``weights`` with every weight matrix in the product dtype (biases
        and the label columns, used element-wise, stay float32)."""
        if self.dtype is None:
            return weights
        return weights._replace(
            feature_weight_t=self.operand(weights.feature_weight_t),
            hidden=[(self.operand(w), bias) for w, bias in weights.hidden],
        )

    def __call__(
        self, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``a @ b`` as float32 (written into ``out`` when given)."""
        if self.dtype is None:
            return torch.mm(a, b, out=out)
        result = torch.mm(self.operand(a), self.operand(b))
        return result.float() if out is None else out.copy_(result)

    def affine(self, a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``a @ b + bias`` as float32."""
        if self.dtype is None:
            return torch.mm(a, b).add_(bias)
        # Widened first, then the bias added in place: a bfloat16 + float32
        # add is a mixed-dtype op, which ran at a fraction of the speed.
        return torch.mm(self.operand(a), self.operand(b)).float().add_(bias)


#: Float32 products, for inspection paths that are not hot.
FLOAT32 = Products(None)


# ------------------------------------------------------------ forward pass
def input_inv_length(
    features: torch.Tensor, label_values: torch.Tensor, *, label_slots: int = 1
) -> torch.Tensor:
    """``1 / |v|`` for each embedded row ``v = [features, label part]``: a
    one-hot label (``label_slots=1``) adds ``label_value**2`` to ``|v|**2``,
    the neutral label (``label_value / k`` in each of ``label_slots=k`` slots)
    adds ``label_value**2 / k``. The first layer's length normalisation."""
    label_square = label_values.square()
    if label_slots != 1:
        label_square = label_square / label_slots
    return 1.0 / ((features.square().sum(dim=1) + label_square).sqrt() + NORM_EPS)


def first_layer_base(
    features: torch.Tensor,
    label_values: torch.Tensor,
    feature_weight_t: torch.Tensor,
    product: Products,
    *,
    label_slots: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first layer's normalised feature product. Returns ``(scaled,
    inv_length, base)``: ``features / |v|`` (in the product dtype), ``1 / |v|`` (see
    :func:`input_inv_length`) and ``base = W_f (features / |v|)`` (``(n, h0)``),
    which every label of the row shares."""
    inv_length = input_inv_length(features, label_values, label_slots=label_slots)
    if product.dtype is None:
        scaled = features * inv_length[:, None]
    else:  # scaled in float32, then cast (see normalise_rows)
        scaled = torch.mul(features, inv_length[:, None]).to(product.dtype)
    return scaled, inv_length, product(scaled, feature_weight_t)


def first_layer_activity(
    base: torch.Tensor, label_coef: torch.Tensor, label_rows: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """``relu(base + label_coef * label_rows + bias)`` with broadcasting: the
    first layer's activity once the embedded label's column of the weight
    (``label_rows``, rows of ``W_label^T``) scaled by ``label_coef``
    (``label_value / |v|``) is added to the shared ``base``.

    Shapes: one label per row, ``base (n, h)``, ``label_coef (n,)``,
    ``label_rows (n, h)``; every label, ``base (n, 1, h)``, ``label_coef
    (n, 1)``, ``label_rows (k, h)``; the neutral label, ``label_rows (h,)``.
    """
    # One broadcast pass writes the (n, k, h) block, one more applies ReLU.
    return torch.relu_(torch.addcmul(base + bias, label_coef[..., None], label_rows))


def hidden_forward(
    previous: torch.Tensor,
    weight_t: torch.Tensor,
    bias: torch.Tensor,
    product: Products,
    previous_length: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A deeper layer: only the direction of the previous layer's activity
    passes on. Returns ``(normalised input, relu(normalised @ weight_t + bias))``,
    the normalised input in the product dtype (the weight gradient reuses it).
    ``previous_length`` passes in the previous activity's row lengths when
    the caller has them (they are also its goodness)."""
    normalised = normalise_rows(previous, product.dtype, previous_length)
    return normalised, torch.relu_(product.affine(normalised, weight_t, bias))


class NetworkWeights(NamedTuple):
    """The tensors a forward pass reads, transposed for row-major products.

    ``feature_weight_t`` ``(d, h0)``, ``label_rows`` (``W_label^T``,
    ``(k, h0)``), ``first_bias`` ``(h0,)``, ``hidden``: pairs of weight
    ``(h_in, h_out)`` and bias, ``widths``: each layer's true width (tensors
    may carry zero padding, see ``_inference.py``).
    """

    feature_weight_t: torch.Tensor
    label_rows: torch.Tensor
    first_bias: torch.Tensor
    hidden: Sequence[tuple[torch.Tensor, torch.Tensor]]
    widths: Sequence[int]


def goodness_layer_weights(n_layers: int, skip_first: bool) -> list[float]:
    """Which layers' goodness counts in a label's score (1.0) and which not
    (0.0). Hinton (2022) found scores better without the first hidden layer
    when there are several; a single layer always counts."""
    return [0.0 if skip_first and n_layers > 1 and i == 0 else 1.0 for i in range(n_layers)]


def summed_goodness(
    base: torch.Tensor,
    label_coef: torch.Tensor,
    weights: NetworkWeights,
    layer_weights: Sequence[float],
    product: Products,
    candidates: torch.Tensor | None = None,
) -> torch.Tensor:
    """Goodness summed over layers for every label of every row, ``(n, k)``,
    or for the ``m`` labels of each row in ``candidates`` (``(n, m)`` class
    indices), ``(n, m)``.

    Starts from the first layer's shared feature product ``base`` (see
    :func:`first_layer_base`); the label columns are broadcast onto it, then
    the deeper layers run on one ``(n * k, h)`` (or ``(n * m, h)``) block.
    ``layer_weights`` say which layers count (see :func:`goodness_layer_weights`).
    """
    label_rows = weights.label_rows if candidates is None else weights.label_rows[candidates]
    n, k = base.shape[0], label_rows.shape[-2]
    activity = first_layer_activity(
        base[:, None, :], label_coef[:, None], label_rows, weights.first_bias
    ).reshape(n * k, -1)
    widths = weights.widths
    # A row's goodness and the length the next layer divides it by come from
    # the same sum of squares: one pass over each activity gives both.
    length = torch.linalg.vector_norm(activity, dim=1)
    total = length.square() * (layer_weights[0] / widths[0])
    for (weight_t, bias), width, layer_weight in zip(
        weights.hidden, widths[1:], layer_weights[1:], strict=True
    ):
        _, activity = hidden_forward(activity, weight_t, bias, product, length)
        length = torch.linalg.vector_norm(activity, dim=1)
        total += length.square() * (layer_weight / width)
    return total.view(n, k)


def neutral_activities(
    features: torch.Tensor,
    label_values: torch.Tensor,
    weights: NetworkWeights,
    product: Products,
    feature_product: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Each layer's activity for rows embedded with the neutral label
    (``label_value / k`` in each of the ``k`` label slots), the input of the
    softmax read-out. ``feature_product`` may pass in ``features @ W_f^T``
    when the caller has it already."""
    k = weights.label_rows.shape[0]
    if feature_product is None:
        _, inv_length, base = first_layer_base(
            features, label_values, weights.feature_weight_t, product, label_slots=k
        )
    else:
        inv_length = input_inv_length(features, label_values, label_slots=k)
        base = feature_product * inv_length[:, None]
    label_coef = label_values * inv_length / k
    activity = first_layer_activity(
        base, label_coef, weights.label_rows.sum(dim=0), weights.first_bias
    )
    return with_deeper_layers(activity, weights, product)


def with_deeper_layers(
    first_activity: torch.Tensor, weights: NetworkWeights, product: Products
) -> list[torch.Tensor]:
    """Every layer's activity, from the first layer's: the deeper layers run
    one after the other (see :func:`hidden_forward`)."""
    activities = [first_activity]
    for weight_t, bias in weights.hidden:
        activities.append(hidden_forward(activities[-1], weight_t, bias, product)[1])
    return activities


def readout_layer_indices(n_layers: int) -> tuple[int, ...]:
    """Layers whose activities feed the softmax read-out: all but the first
    when there are several (as in Hinton, 2022), else the only one."""
    return tuple(range(1, n_layers)) if n_layers > 1 else (0,)


def readout_inputs(activities: Sequence[torch.Tensor]) -> torch.Tensor:
    """The read-out's input: the normalised activities of its layers, side by side."""
    indices = readout_layer_indices(len(activities))
    return torch.cat([normalise_rows(activities[i]) for i in indices], dim=1)


# ------------------------------------------------------------------ modules
def _parameter(
    shape: tuple[int, ...],
    fan_in: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> nn.Parameter:
    """A parameter drawn from nn.Linear's default range with our own
    generator (so a fit never reads or changes torch's global random state),
    or left uninitialised when ``generator`` is None (to be loaded).

    Parameters do not require grad: training computes gradients in closed
    form (see ``_local_trainer.py``), never through autograd.
    """
    tensor = torch.empty(shape, device=device)
    if generator is not None:
        bound = 1.0 / math.sqrt(fan_in)
        tensor.uniform_(-bound, bound, generator=generator)
    return nn.Parameter(tensor, requires_grad=False)


class FFHiddenLayer(nn.Module):
    """A layer fed by the previous layer: normalise, linear map, ReLU."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        generator: torch.Generator | None,
        device: torch.device,
    ):
        super().__init__()
        self.weight = _parameter((out_features, in_features), in_features, generator, device)
        self.bias = _parameter((out_features,), in_features, generator, device)

    def forward(self, previous: torch.Tensor) -> torch.Tensor:
        return hidden_forward(previous, self.weight.T, self.bias, FLOAT32)[1]


class FFInputLayer(nn.Module):
    """The first layer, fed by features plus an embedded one-hot label.

    Its input row is ``v = [features, label_value * onehot(label)]`` (columns
    in the order the label embedding puts them). Because the one-hot part only
    adds ``label_value * W_label[:, label]`` to ``W v``, the weight is kept as
    two blocks and the feature product is computed once and shared by every
    label of a row (positive, negative, or all ``k`` at scoring time).
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        out_features: int,
        generator: torch.Generator | None,
        device: torch.device,
    ):
        super().__init__()
        fan_in = n_features + n_classes
        self.feature_weight = _parameter((out_features, n_features), fan_in, generator, device)
        self.label_weight = _parameter((out_features, n_classes), fan_in, generator, device)
        self.bias = _parameter((out_features,), fan_in, generator, device)


class FFReadout(nn.Module):
    """Linear softmax classifier on the normalised activities of the layers
    :func:`readout_layer_indices` names (weights start at zero)."""

    def __init__(self, in_features: int, n_classes: int, device: torch.device):
        super().__init__()
        self.weight = nn.Parameter(
            torch.zeros(n_classes, in_features, device=device), requires_grad=False
        )
        self.bias = nn.Parameter(torch.zeros(n_classes, device=device), requires_grad=False)


class FFNetwork(nn.Module):
    """A stack of Forward-Forward layers of sizes ``hidden_layer_sizes``,
    optionally with a softmax read-out (``readout=True``).

    With a ``generator`` the weights are initialised from it (on the
    generator's device); without one they are left uninitialised on
    ``device``, ready for ``load_state_dict``.

    Calling the network, ``network(features, label_values, labels)``, returns
    the activity of every layer for rows with ``labels`` embedded (see
    :meth:`forward`). A fitted estimator's ``label_embedding_.split(X)`` turns
    raw rows into ``(features, label_values)``.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_layer_sizes: Sequence[int],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        readout: bool = False,
    ):
        super().__init__()
        device = generator.device if generator is not None else torch.device(device or "cpu")
        sizes = tuple(int(size) for size in hidden_layer_sizes)
        self.n_features = n_features
        self.n_classes = n_classes
        self.hidden_layer_sizes = sizes
        self.input_layer = FFInputLayer(n_features, n_classes, sizes[0], generator, device)
        self.hidden_layers = nn.ModuleList(
            FFHiddenLayer(a, b, generator, device)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.readout = None
        if readout:
            width = sum(sizes[i] for i in readout_layer_indices(len(sizes)))
            self.readout = FFReadout(width, n_classes, device)

    @property
    def layers(self) -> list[nn.Module]:
        """All layers, input layer first."""
        return [self.input_layer, *self.hidden_layers]

    def weights(self) -> NetworkWeights:
        """The weights in the layout the forward-pass functions read: views
        of the live parameters, but ``label_rows`` is a copy (small, taken
        once per training step or prediction)."""
        first = self.input_layer
        return NetworkWeights(
            first.feature_weight.T,
            # A row-major (k, h) copy, not the transposed view: the
            # (rows, labels, units) blocks broadcast from it are then
            # row-major too, where the view made them strided and every
            # pass over them (and the reshape after) several times slower.
            first.label_weight.T.contiguous(),
            first.bias,
            [(layer.weight.T, layer.bias) for layer in self.hidden_layers],
            [layer.bias.shape[0] for layer in self.layers],
        )

    @torch.no_grad()
    def forward(
        self,
        features: torch.Tensor,
        label_values: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """The activity of every layer, ``[(n, h0), (n, h1), ...]``, for rows
        with ``labels`` (``(n,)`` class indices) embedded, or with the neutral
        label (``1/k`` of the label value in every slot) when ``labels`` is
        None. Float32 products; for inspection (e.g.
        :class:`ffsk.GoodnessDisplay`), not the hot paths."""
        weights = self.weights()
        if labels is None:
            return neutral_activities(features, label_values, weights, FLOAT32)
        _, inv_length, base = first_layer_base(
            features, label_values, weights.feature_weight_t, FLOAT32
        )
        activity = first_layer_activity(
            base, label_values * inv_length, weights.label_rows[labels], weights.first_bias
        )
        return with_deeper_layers(activity, weights, FLOAT32)

    def layer_goodness(
        self, features: torch.Tensor, label_values: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Goodness ``(n, n_layers)`` of each row with its label in ``labels``
        embedded, layer by layer."""
        return torch.stack([goodness(a) for a in self(features, label_values, labels)], dim=1)
