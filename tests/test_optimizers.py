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


@pytest.mark.parametrize("fused", [True, False])
def test_adamw_updates_exactly_as_torch_optim_adamw(monkeypatch, fused):
    """The same steps as torch.optim.AdamW (fused kernel, and the plain
    per-tensor update torch builds without one fall back to), and a state
    dict either can load."""
    import ffsk._optimizers as optimizers

    if not fused:
        monkeypatch.setattr(optimizers, "_has_fused_kernel", lambda device: False)
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(5, 3, generator=generator), torch.randn(3, generator=generator)]
    ours = [torch.nn.Parameter(t.clone(), requires_grad=False) for t in start]
    theirs = [torch.nn.Parameter(t.clone()) for t in start]
    mine = adam(ours, learning_rate=0.05, weight_decay=0.3)
    reference = torch.optim.AdamW(theirs, lr=0.05, weight_decay=0.3)
    for _ in range(4):
        grads = [torch.randn(t.shape, generator=generator) for t in start]
        for p, q, g in zip(ours, theirs, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        mine.step()
        reference.step()
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-6, atol=1e-7)
    saved, expected = mine.state_dict(), reference.state_dict()
    for index in (0, 1):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(saved["state"][index][key], expected["state"][index][key])
    # Moments move both ways between the two.
    again = adam([torch.nn.Parameter(t.clone(), requires_grad=False) for t in start], 0.05, 0.3)
    load_optimizer_moments(again, expected)
    torch.testing.assert_close(
        again.state_dict()["state"][1]["exp_avg_sq"], saved["state"][1]["exp_avg_sq"]
    )
    other = torch.optim.AdamW([torch.nn.Parameter(t.clone()) for t in start], lr=0.05)
    other.load_state_dict(saved)
    assert float(other.state_dict()["state"][0]["step"]) == 4


def test_training_never_imports_torch_dynamo():
    """torch.optim's optimisers import torch._dynamo on first use (over a
    second); ffsk's own AdamW keeps a first small fit fast."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from ffsk import ForwardForwardClassifier\n"
        "X = np.random.RandomState(0).rand(40, 3); y = np.arange(40) % 2\n"
        "ForwardForwardClassifier(epochs=2, device='cpu').fit(X, y).predict(X)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
