"""Continuation state: what a fit leaves behind so that ``warm_start`` and
``partial_fit`` can go on from where it stopped — the optimisers' moments,
the peer-normalisation running means and the random generator's state.

With it, ``partial_fit`` called ``epochs`` times on the same data trains
exactly the network one ``fit`` would (a test checks it on the CPU).
"""

from __future__ import annotations

import hashlib

import torch

from ._local_trainer import LocalTrainer


def continuation_state(trainer: LocalTrainer, generator: torch.Generator) -> dict:
    """The state a later fit continues from (references, not copies: the
    trainer and generator are not used again after this). Optimisers keep
    only their per-parameter state (moments, step counts): a continued fit
    takes its hyper-parameters from the estimator's parameters."""
    state = dict(trainer.state_dict())
    state["optimizers"] = [_moments_only(saved) for saved in state["optimizers"]]
    if "readout_optimizer" in state:
        state["readout_optimizer"] = _moments_only(state["readout_optimizer"])
    return {
        "trainer": state,
        "generator_device": generator.device.type,
        "generator": generator.get_state(),
    }


def restore_generator(state: dict, device: torch.device) -> torch.Generator:
    """A generator on ``device`` that continues the saved one's sequence."""
    generator = torch.Generator(device=device)
    if state["generator_device"] == device.type:
        generator.set_state(state["generator"])
    else:
        # The state of a CPU generator does not fit a CUDA one (and vice
        # versa), e.g. after unpickling a GPU model on a CPU-only machine:
        # derive a seed from it instead, so the continuation is still seeded.
        digest = hashlib.sha256(state["generator"].numpy().tobytes()).digest()
        generator.manual_seed(int.from_bytes(digest[:7], "little"))
    return generator


def _moments_only(optimizer_state: dict) -> dict:
    return {
        "state": optimizer_state["state"],
        "param_groups": [{"params": group["params"]} for group in optimizer_state["param_groups"]],
    }
