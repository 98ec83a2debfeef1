"""ffsk/_optimizers.py: Adam with decoupled weight decay, and moments loaded
into a new optimiser that keeps its own hyper-parameters."""

import numpy as np
import pytest
import torch

from ffsk import ForwardForwardClassifier
from ffsk._optimizers import adam, load_optimizer_moments


def test_weight_decay_is_decoupled_from_the_gradient():
    """With a zero gradient, a step multiplies the weights by 1 - lr * decay
    (an L2 term inside Adam would instead step by about lr towards zero)."""
    weight = torch.nn.Parameter(torch.full((4,), 2.0), requires_grad=False)
    weight.grad = torch.zeros(4)
    optimizer = adam([weight], learning_rate=0.01, weight_decay=0.1)
    optimizer.step()
    torch.testing.assert_close(weight.detach(), torch.full((4,), 2.0 * (1 - 0.01 * 0.1)))


def test_loaded_moments_keep_the_new_optimizers_hyper_parameters():
    first = torch.nn.Parameter(torch.zeros(3), requires_grad=False)
    first.grad = torch.ones(3)
    old = adam([first], learning_rate=0.5, weight_decay=0.0)
    old.step()
    second = torch.nn.Parameter(torch.zeros(3), requires_grad=False)
    new = adam([second], learning_rate=0.01, weight_decay=0.2)
    load_optimizer_moments(new, old.state_dict())
    group = new.param_groups[0]
    assert group["lr"] == 0.01 and group["weight_decay"] == 0.2
    torch.testing.assert_close(
        new.state[second]["exp_avg"], old.state_dict()["state"][0]["exp_avg"]
    )


@pytest.mark.parametrize("weight_decay", [1e-4, 1e-3, 1e-2])
def test_ordinary_weight_decay_regularises_without_erasing_the_model(digits_split, weight_decay):
    X_train, X_test, y_train, y_test = digits_split
    params = dict(hidden_layer_sizes=(100, 100), epochs=20, random_state=0, device="cpu")
    plain = ForwardForwardClassifier(**params).fit(X_train, y_train).score(X_test, y_test)
    decayed = ForwardForwardClassifier(**params, weight_decay=weight_decay)
    decayed.fit(X_train, y_train)
    assert decayed.score(X_test, y_test) > plain - 0.03
    assert len(np.unique(decayed.predict(X_test))) == 10


def test_a_strong_weight_decay_shrinks_the_weights(blobs):
    X, y = blobs
    params = dict(hidden_layer_sizes=(16,), epochs=5, random_state=0, device="cpu")
    norms = [
        float(
            ForwardForwardClassifier(**params, weight_decay=decay)
            .fit(X, y)
            .network_.input_layer.feature_weight.norm()
        )
        for decay in (0.0, 10.0)
    ]
    assert norms[1] < 0.9 * norms[0]
