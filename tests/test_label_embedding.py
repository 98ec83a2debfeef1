"""ffsk/_label_embedding.py: how a label goes into a row, and the label value
and power-of-two scale chosen from the data."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ffsk._label_embedding import (
    LabelEmbedding,
    concat_label_value,
    mean_square_row_length,
    power_of_two_scale,
)


def test_concat_appends_the_scaled_one_hot_and_overlay_overwrites_the_first_columns():
    X = torch.arange(12.0).reshape(3, 4) + 1
    labels = torch.tensor([0, 1, 0])
    concat = LabelEmbedding("concat", n_features=4, n_classes=2, label_value=0.5)
    np.testing.assert_array_equal(
        concat.embed(X, labels)[:, 4:].numpy(), [[0.5, 0.0], [0.0, 0.5], [0.5, 0.0]]
    )
    overlay = LabelEmbedding("overlay", n_features=4, n_classes=2, label_value=0.5)
    features, values = overlay.split(X)
    assert torch.equal(features, X[:, 2:])
    assert torch.equal(values, 0.5 * X[:, 2:].abs().amax(dim=1))
    assert overlay.n_network_features == 2
    with pytest.raises(ValueError, match="needs more features"):
        LabelEmbedding("overlay", n_features=2, n_classes=2, label_value=1.0)


def test_the_concat_label_value_follows_the_rows_rms_length():
    X = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert mean_square_row_length(X) == pytest.approx(12.5)
    assert mean_square_row_length(sp.csr_matrix(X)) == pytest.approx(12.5)
    assert concat_label_value(12.5, 0.5) == pytest.approx(0.5 * 12.5**0.5)
    assert concat_label_value(0.0, 0.5) == 0.5  # all-zero data


def test_only_rows_far_from_unit_length_are_rescaled_by_an_exact_power_of_two():
    assert power_of_two_scale(1.0) == 1.0 and power_of_two_scale(2.0**31) == 1.0
    assert power_of_two_scale(2.0**40) == 2.0**-40
    assert power_of_two_scale(3 * 2.0**-50) == 2.0**49
    embedding = LabelEmbedding("concat", 2, 2, 1.0, feature_scale=2.0**-40)
    features, _ = embedding.split(torch.tensor([[2.0**40, 2.0**41]], dtype=torch.float32))
    assert features.tolist() == [[1.0, 2.0]]
