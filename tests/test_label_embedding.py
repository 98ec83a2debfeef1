"""ffsk/_label_embedding.py: how a label goes into a row, and the label value
and power-of-two scale chosen from the data."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ffsk._label_embedding import (
    LabelEmbedding,
    concat_label_value,
    power_of_two_scale,
    rms_row_length,
)
from ffsk._rows import as_float32_tensor


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
    assert rms_row_length(X) == pytest.approx(12.5**0.5)
    assert rms_row_length(sp.csr_matrix(X)) == pytest.approx(12.5**0.5)
    assert concat_label_value(12.5**0.5, 0.5) == pytest.approx(0.5 * 12.5**0.5)
    assert concat_label_value(0.0, 0.5) == 0.5  # all-zero data
    with pytest.raises(ValueError, match="label_scale=1e\\+39 makes the embedded label"):
        concat_label_value(1.5, 1e39)


@pytest.mark.parametrize("scale", [1e-300, 1e-45, 1e39, 1e300])
def test_the_rms_length_is_exact_at_any_float64_scale(scale):
    X = np.array([[3.0, 4.0], [0.0, 0.0]])
    assert rms_row_length(X * scale) == pytest.approx(12.5**0.5 * scale, rel=1e-12)
    assert rms_row_length(sp.csr_matrix(X * scale)) == pytest.approx(12.5**0.5 * scale)


def test_only_rows_far_from_unit_length_are_rescaled_by_an_exact_power_of_two():
    assert power_of_two_scale(1.0) == 1.0 and power_of_two_scale(2.0**31) == 1.0
    assert power_of_two_scale(2.0**40) == 2.0**-40
    assert power_of_two_scale(3 * 2.0**-50) == 2.0**49
    assert power_of_two_scale(1e-300) == 2.0**997
    # rows are scaled while converting, in float64: nothing is lost on the way
    rows = as_float32_tensor(np.array([[1e-300, 3e-300]]), torch.device("cpu"), 2.0**997)
    np.testing.assert_allclose(rows.numpy(), [[1e-300 * 2.0**997, 3e-300 * 2.0**997]])
    with pytest.raises(ValueError, match="too small to be represented"):
        power_of_two_scale(1e-320)
