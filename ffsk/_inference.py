"""Inference: every candidate label of every row scored with bounded memory,
or the softmax read-out's logits from one neutral-label pass.

A row's score for label ``c`` is the goodness summed over layers when ``c``
is embedded in the row. Because a one-hot label only adds a per-class term to
the first layer's pre-activation, the feature product ``W_f x`` is computed
once per row and the ``k`` label columns are broadcast onto it; the deeper
layers then run on one ``(rows * k, h)`` block.

Rows go through fixed-size, zero-padded blocks (so memory stays bounded
for any number of rows), and every matrix is padded to
a multiple of :data:`_ALIGN` columns. With every product having the same shape
whatever the number of rows asked for, a row's score does not depend on which
other rows were predicted with it (BLAS kernels pick their reduction order
from the shapes). Zero padding changes no value: padded units have zero weight
and zero bias, so their activity is zero.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch

from ._devices import compute_dtype, matmul_precision
from ._label_embedding import LabelEmbedding
from ._network import (
    FFNetwork,
    NetworkWeights,
    Products,
    first_layer_base,
    goodness_layer_weights,
    neutral_activities,
    readout_inputs,
    readout_layer_indices,
    summed_goodness,
)
from ._rows import iter_row_tensors

#: Largest number of rows per block.
BLOCK_ROWS = 256
#: Floats a block's widest activity tensor (``rows * k * h``) may hold: 16 MiB.
_BLOCK_FLOATS = 1 << 22
_ALIGN = 16


def _round_up(value: int) -> int:
    return -(-value // _ALIGN) * _ALIGN


def _padded(tensor: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    out = tensor.new_zeros(rows, cols)
    out[: tensor.shape[0], : tensor.shape[1]] = tensor
    return out


class LabelScorer:
    """Inference-only, padded copy of an :class:`FFNetwork` that scores labels.

    Build one per prediction call (it copies the weights once) and call
    :meth:`scores` on as many row chunks as needed.
    """

    @torch.no_grad()
    def __init__(
        self,
        network: FFNetwork,
        compute_dtype: torch.dtype | None = None,
        skip_first_goodness: bool = False,
    ):
        first = network.input_layer
        self.score_weights = goodness_layer_weights(len(network.layers), skip_first_goodness)
        # Products in compute_dtype (None: float32); activities, lengths and
        # goodness stay float32.
        self._product = Products(compute_dtype)
        h0 = first.bias.shape[0]
        self.n_features = network.n_features
        self.n_classes = network.n_classes
        feature_weight_t = _padded(
            first.feature_weight.detach().T, _round_up(self.n_features), _round_up(h0)
        )
        label_rows = _padded(first.label_weight.detach().T, self.n_classes, _round_up(h0))
        first_bias = _padded(first.bias.detach()[None], 1, _round_up(h0))[0]
        widths = [h0]
        hidden = []
        widest = max(
            _round_up(h) for h in (h0, *(layer.bias.shape[0] for layer in network.hidden_layers))
        )
        #: Rows per block: fixed for a given network, so every product always
        #: has the same shape; fewer rows when many classes or wide layers
        #: would make a block's ``rows * k * h`` activities large.
        self.block_rows = max(
            _ALIGN, min(BLOCK_ROWS, _BLOCK_FLOATS // (self.n_classes * widest)) // _ALIGN * _ALIGN
        )
        for layer in network.hidden_layers:
            h_out, h_in = layer.weight.shape
            weight_t = _padded(layer.weight.detach().T, _round_up(h_in), _round_up(h_out))
            bias = _padded(layer.bias.detach()[None], 1, _round_up(h_out))[0]
            hidden.append((weight_t, bias))
            widths.append(h_out)
        # Weight matrices cast to the product dtype once, not per block.
        self.weights = self._product.weights(
            NetworkWeights(feature_weight_t, label_rows, first_bias, hidden, widths)
        )
        self.readout = None
        if network.readout is not None:
            weight_t = self._padded_readout(network.readout.weight.detach())
            self.readout = (weight_t, network.readout.bias.detach())

    def _padded_readout(self, weight: torch.Tensor) -> torch.Tensor:
        """The read-out weight, transposed, with zero rows where the padded
        activities it reads have padding columns."""
        widths = self.weights.widths
        indices = readout_layer_indices(len(widths))
        padded = weight.new_zeros(sum(_round_up(widths[i]) for i in indices), self.n_classes)
        source = target = 0
        for i in indices:
            width = widths[i]
            padded[target : target + width] = weight[:, source : source + width].T
            source, target = source + width, target + _round_up(width)
        return padded

    def _blockwise(self, features, label_values, score_block) -> torch.Tensor:
        """Apply ``score_block(block, values)`` to fixed-size, zero-padded blocks
        of rows and gather the ``(n, k)`` results."""
        n = features.shape[0]
        out = features.new_empty(n, self.n_classes)
        block_rows = self.block_rows
        for start in range(0, n, block_rows):
            stop = min(start + block_rows, n)
            block = _padded(
                features[start:stop], block_rows, self.weights.feature_weight_t.shape[0]
            )
            values = label_values.new_zeros(block_rows)
            values[: stop - start] = label_values[start:stop]
            out[start:stop] = score_block(block, values)[: stop - start]
        return out

    def _goodness_block(self, block: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        weights = self.weights
        _, inv_length, base = first_layer_base(
            block, values, weights.feature_weight_t, self._product
        )
        return summed_goodness(
            base, values * inv_length, weights, self.score_weights, self._product
        )

    def _readout_block(self, block: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        activities = neutral_activities(block, values, self.weights, self._product)
        weight_t, bias = self.readout
        return torch.addmm(bias, readout_inputs(activities), weight_t)

    @torch.no_grad()
    def scores(self, features: torch.Tensor, label_values: torch.Tensor) -> torch.Tensor:
        """Scores of shape ``(n, k)``: goodness summed over layers per label."""
        return self._blockwise(features, label_values, self._goodness_block)

    @torch.no_grad()
    def readout_logits(self, features: torch.Tensor, label_values: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, k)`` of the softmax read-out: one neutral-label pass per row."""
        if self.readout is None:
            raise ValueError("This network has no softmax read-out.")
        return self._blockwise(features, label_values, self._readout_block)


def iter_scores(
    network: FFNetwork,
    embedding: LabelEmbedding,
    X,
    precision: str,
    *,
    skip_first_goodness: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Class scores of validated rows ``X`` (a float array or a CSR matrix),
    chunk by chunk: ``(first row, float32 scores (rows, k))``. The goodness
    summed over layers per label, or the softmax read-out's logits when the
    network has one. Memory is bounded by the chunk size, whatever ``X``'s."""
    device = network.input_layer.bias.device
    scorer = LabelScorer(network, compute_dtype(precision), skip_first_goodness)
    # Dense rows are converted a few blocks at a time; sparse rows are
    # densified one block at a time.
    chunk_rows = scorer.block_rows * (1 if sp.issparse(X) else 16)
    score = scorer.readout_logits if network.readout is not None else scorer.scores
    start = 0
    with matmul_precision(device):
        for rows in iter_row_tensors(X, chunk_rows, device, embedding.feature_scale):
            yield start, score(*embedding.split(rows)).cpu().numpy()
            start += rows.shape[0]


def predict_scores(
    network: FFNetwork,
    embedding: LabelEmbedding,
    X,
    precision: str,
    *,
    skip_first_goodness: bool = False,
    argmax: bool = False,
) -> np.ndarray:
    """All class scores ``(n, k)`` as float64, written chunk by chunk into one
    preallocated array (see :func:`iter_scores`); with ``argmax``, only each
    row's best class index ``(n,)``, so no ``(n, k)`` array is ever built."""
    shape = (X.shape[0],) if argmax else (X.shape[0], network.n_classes)
    out = np.empty(shape, dtype=np.intp if argmax else np.float64)
    for start, scores in iter_scores(
        network, embedding, X, precision, skip_first_goodness=skip_first_goodness
    ):
        out[start : start + scores.shape[0]] = scores.argmax(axis=1) if argmax else scores
    return out
