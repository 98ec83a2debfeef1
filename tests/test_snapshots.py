"""ffsk/_snapshots.py: copies of the weights and the trainer state to go back to."""

import torch
from _torch_helpers import make_batch, make_network, make_trainer

from ffsk._snapshots import EpochCheckpoint, WeightSnapshot


def _weights(network):
    return [p.detach().clone() for p in network.parameters()]


def test_a_weight_snapshot_restores_the_saved_weights():
    network = make_network()
    snapshot = WeightSnapshot(network)
    saved = _weights(network)
    with torch.no_grad():
        for p in network.parameters():
            p.add_(1.0)
    snapshot.restore()
    assert all(torch.equal(a, b) for a, b in zip(saved, _weights(network), strict=True))


def test_an_epoch_checkpoint_undoes_steps_so_training_repeats_exactly():
    features, values, pos, _ = make_batch(n=20)
    network = make_network()
    trainer = make_trainer(network)
    generator = torch.Generator().manual_seed(0)
    trainer.step(features, values, pos, generator)
    checkpoint = EpochCheckpoint(network, trainer, generator)
    trainer.step(features, values, pos, generator)
    after_one = _weights(network)
    trainer.step(features, values, pos, generator)  # an "interrupted" extra step
    checkpoint.restore()
    trainer.step(features, values, pos, generator)
    # weights, Adam moments and the generator were all rolled back
    assert all(torch.equal(a, b) for a, b in zip(after_one, _weights(network), strict=True))


def test_saving_again_copies_into_the_same_tensors_and_still_rolls_back():
    """Later saves reuse the first save's tensors (no allocation per epoch),
    hold values, not references to the live state, and restore exactly."""
    features, values, pos, _ = make_batch(n=20)
    network = make_network()
    trainer = make_trainer(network)
    generator = torch.Generator().manual_seed(0)
    checkpoint = EpochCheckpoint(network, trainer, generator)  # before any step: no moments
    trainer.step(features, values, pos, generator)
    checkpoint.save()  # the moments now exist: copied fresh
    first = checkpoint._trainer_state["optimizers"][0]["state"][0]["exp_avg"]
    trainer.step(features, values, pos, generator)
    checkpoint.save()  # same structure: copied in place
    saved = checkpoint._trainer_state["optimizers"][0]["state"][0]["exp_avg"]
    assert saved is first
    live = trainer.optimizers[0].state_dict()["state"][0]["exp_avg"]
    assert saved is not live and torch.equal(saved, live)
    after_two = _weights(network)
    trainer.step(features, values, pos, generator)
    after_three = _weights(network)
    assert not torch.equal(saved, trainer.optimizers[0].state_dict()["state"][0]["exp_avg"])
    checkpoint.restore()
    assert all(torch.equal(a, b) for a, b in zip(after_two, _weights(network), strict=True))
    trainer.step(features, values, pos, generator)  # repeats the third step exactly
    assert all(torch.equal(a, b) for a, b in zip(after_three, _weights(network), strict=True))
