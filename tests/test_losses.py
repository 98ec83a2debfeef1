"""ffsk/_losses.py: the local losses and their closed-form gradients."""

import math

import pytest
import torch

from ffsk._losses import (
    LOSS_GRADS,
    LOSSES,
    activity_grad_fn,
    label_block_grad,
    peer_normalization_grad,
    softmax_loss,
    softmax_loss_grads,
    symba_loss,
    threshold_loss,
)


def test_losses_match_hand_computed_values():
    g_pos, g_neg = torch.tensor([2.0, 0.5]), torch.tensor([1.0, 3.0])
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    expected = (
        (softplus(1.5 - 2.0) + softplus(1.0 - 1.5)) + (softplus(1.5 - 0.5) + softplus(3.0 - 1.5))
    ) / 2
    got = threshold_loss(g_pos, g_neg, threshold=1.5, sharpness=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # sharpness scales the distance to the threshold inside the softplus
    expected = (
        (softplus(3 * (1.5 - 2.0)) + softplus(3 * (1.0 - 1.5)))
        + (softplus(3 * (1.5 - 0.5)) + softplus(3 * (3.0 - 1.5)))
    ) / 2
    got = threshold_loss(g_pos, g_neg, threshold=1.5, sharpness=3.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    expected = (softplus(-4 * (2.0 - 1.0)) + softplus(-4 * (0.5 - 3.0))) / 2
    assert symba_loss(g_pos, g_neg, threshold=0.0, sharpness=4.0).item() == pytest.approx(
        expected, rel=1e-6
    )


@pytest.mark.parametrize("loss", ["symba", "threshold"])
@pytest.mark.parametrize("weighted", [False, True])
def test_closed_form_goodness_gradients_equal_autograd(loss, weighted):
    torch.manual_seed(0)
    g_pos = torch.rand(7, requires_grad=True)
    g_neg = torch.rand(7, requires_grad=True)
    weights = torch.rand(7) if weighted else None
    value, d_pos, d_neg = LOSS_GRADS[loss](
        g_pos.detach(), g_neg.detach(), threshold=0.5, sharpness=3.0, weights=weights
    )
    reference = LOSSES[loss](g_pos, g_neg, threshold=0.5, sharpness=3.0, weights=weights)
    reference.backward()
    torch.testing.assert_close(value, reference.detach())
    torch.testing.assert_close(d_pos, g_pos.grad)
    torch.testing.assert_close(d_neg, g_neg.grad)


def test_activity_gradient_is_the_gradient_through_relu_and_goodness():
    torch.manual_seed(0)
    pre = torch.randn(8, 5, requires_grad=True)  # 4 positive rows over 4 negative ones
    activity = torch.relu(pre)
    g = activity.square().mean(dim=1)
    reference = symba_loss(g[:4], g[4:], threshold=0.0, sharpness=2.0)
    reference.backward()
    value, grad_pre = activity_grad_fn("symba", 0.0, 2.0)(activity.detach())
    torch.testing.assert_close(value, reference.detach())
    torch.testing.assert_close(grad_pre, pre.grad)


@pytest.mark.parametrize("sharpness", [1.0, 10.0])
def test_peer_normalization_gradient_matches_autograd(sharpness):
    torch.manual_seed(0)
    pre = torch.randn(16, 6, requires_grad=True)
    running = torch.rand(6)
    expected_running = 0.9 * running + 0.1 * torch.relu(pre).mean(dim=0)
    penalty = 0.03 * sharpness / (2 * (1 - 0.9) * 6)
    loss = penalty * (expected_running - expected_running.mean()).square().sum()
    loss.backward()
    got = peer_normalization_grad(torch.relu(pre).detach(), running, 0.03, sharpness)
    torch.testing.assert_close(running, expected_running.detach())
    torch.testing.assert_close(got, pre.grad)


def test_peer_normalization_keeps_hintons_balance_with_the_loss():
    """Hinton's code adds strength * deviation to a loss term of (1 - p) * 2a
    per unit, p = sigmoid(sum of squares - h). Here the threshold loss's term
    is sharpness * sigmoid(sharpness * (threshold - g)) * 2a / h, so the peer
    term must shrink by sharpness / h for its ratio to the loss's term to be
    Hinton's; with threshold=1 and sharpness=h the loss is Hinton's own."""
    torch.manual_seed(0)
    for h, sharpness in ((6, 1.0), (600, 1.0), (600, 600.0)):
        activity = torch.rand(8, h) * 0.2 + 0.9  # every ReLU on, goodness near 1
        n = activity.shape[0]
        g_pos = activity.square().mean(dim=1)
        _, d_pos, _ = LOSS_GRADS["threshold"](
            g_pos, torch.zeros(n), threshold=1.0, sharpness=sharpness
        )
        loss_term = d_pos[:, None] * (2.0 / h) * activity  # dL/dz of the positive rows
        running = torch.rand(h)
        peer = peer_normalization_grad(activity, running, 0.03, sharpness)
        deviation = running - running.mean()  # running was updated in place
        # Hinton's balance, from quantities computed here, not from the loss's gradient
        weight = torch.sigmoid(sharpness * (1.0 - g_pos))
        hinton_ratio = 0.03 * deviation[None, :] / (weight[:, None] * 2 * activity)
        torch.testing.assert_close(peer / loss_term.abs(), hinton_ratio, rtol=1e-4, atol=1e-7)
        if sharpness == h:  # Hinton's loss exactly: 1 - p with p = sigmoid(sum a^2 - h)
            one_minus_p = 1 - torch.sigmoid(activity.square().sum(dim=1) - h)
            torch.testing.assert_close(weight, one_minus_p, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_loss_gradient_equals_autograd(weighted):
    torch.manual_seed(0)
    g = torch.rand(7, 4, requires_grad=True)
    target = torch.tensor([0, 3, 1, 2, 2, 0, 1])
    weights = torch.rand(7) if weighted else None
    value, d_g = softmax_loss_grads(g.detach(), target, sharpness=3.0, weights=weights)
    reference = softmax_loss(g, target, sharpness=3.0, weights=weights)
    reference.backward()
    torch.testing.assert_close(value, reference.detach())
    torch.testing.assert_close(d_g, g.grad)


def test_softmax_loss_is_the_cross_entropy_of_scaled_goodness():
    g = torch.tensor([[1.0, 0.5, 0.0]])
    logits = [2.0 * v for v in (1.0, 0.5, 0.0)]
    expected = -math.log(math.exp(logits[1]) / sum(math.exp(v) for v in logits))
    got = softmax_loss(g, torch.tensor([1]), sharpness=2.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_label_block_gradient_is_the_gradient_through_relu_and_goodness():
    torch.manual_seed(0)
    pre = torch.randn(4, 3, 5, requires_grad=True)  # 4 rows, 3 labels each
    target = torch.tensor([2, 0, 1, 1])
    activity = torch.relu(pre)
    reference = softmax_loss(activity.square().mean(dim=-1), target, sharpness=2.0)
    reference.backward()
    value, scale, length = label_block_grad(activity.detach(), target, 2.0)
    torch.testing.assert_close(value, reference.detach())
    torch.testing.assert_close(scale[..., None] * activity.detach(), pre.grad)
    torch.testing.assert_close(length, activity.detach().norm(dim=-1))
