"""The epoch loop of a fit, torch-side: one entry point, :func:`fit_epochs`.

The estimator validates its inputs, builds the network and the training rows,
and calls :func:`fit_epochs` with a :class:`FitConfig`; it gets back a
:class:`FitResult` and sets its attributes from it. Everything between —
the trainers, negative sampling, the learning-rate schedule, the health
check, validation scores, early stopping, progress lines, checkpoints and
Ctrl-C — happens here. Nothing here knows about scikit-learn.

Each epoch is a transaction. Its batches train the network; then its losses,
validation score, early-stopping record and checkpoint are committed together
with Ctrl-C deferred, so an interrupt either lands before the commit (the
epoch is undone: weights, optimiser state and generator go back to the last
committed epoch) or after it (the epoch is kept). Either way the weights, the
optimiser state, the loss curve and the validation scores describe the same
completed epoch.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from ._continuation import continuation_state
from ._devices import compute_dtype, matmul_precision
from ._early_stopping import EarlyStopping, LossPlateau
from ._inference import predict_scores
from ._label_embedding import LabelEmbedding
from ._local_trainer import LocalTrainer
from ._negatives import negative_sampler
from ._network import FFNetwork
from ._readout_trainer import ReadoutTrainer
from ._reporting import print_epoch, progress_bar
from ._rows import TrainingRows
from ._snapshots import EpochCheckpoint
from ._threads import ThreadChooser, products_work, set_threads


class TrainingDivergedError(ArithmeticError):
    """Training produced NaN or infinite losses or weights; ``fit`` stopped
    and the estimator kept its previous state."""


@dataclass(frozen=True)
class FitConfig:
    """The training options of one fit, as the estimator resolved them."""

    learning_rate: float
    learning_rate_schedule: str
    #: Number of epochs the learning-rate schedule spans (the ``epochs`` parameter).
    schedule_epochs: int
    loss: str
    threshold: float
    sharpness: float
    weight_decay: float
    negatives: str
    skip_first_goodness: bool
    peer_normalization: float
    precision: str
    compile: bool
    batch_size: int
    n_iter_no_change: int = 10
    tol: float = 1e-4
    verbose: int = 0
    #: Wrong labels scored per row by hard negatives (None: all of them).
    negative_candidates: int | None = None
    #: CPU threads: an int, or "auto" (the cores other processes leave idle).
    n_threads: int | str = "auto"
    #: Without validation rows, stop when the training loss stops falling.
    stop_on_loss_plateau: bool = False


@dataclass
class FitResult:
    """What a call of :func:`fit_epochs` leaves: the loss curve over all
    calls (one array of per-layer losses per epoch), the continuation state,
    and the validation record (None without validation rows)."""

    loss_curve: list[np.ndarray]
    training_state: dict
    validation_scores: list[float] | None = None
    best_validation_score: float | None = None
    interrupted: bool = field(default=False)
    #: Whether a stopping rule ended the fit before its last epoch.
    stopped_early: bool = field(default=False)


def learning_rate_factor(schedule: str, epoch: int, epochs: int) -> float:
    """Multiplier of the learning rate in ``epoch`` (0-based, below ``epochs``).

    ``"constant"``: 1. ``"linear_decay"`` (Hinton's schedule): 1 for the first
    half, then decreasing linearly to ``2 / epochs`` in the last epoch.
    """
    if schedule == "constant":
        return 1.0
    return min(1.0, 2.0 * (epochs - epoch) / epochs)


def make_trainer(network: FFNetwork, config: FitConfig) -> LocalTrainer:
    """The trainer of ``network`` (and of its read-out, if any) for ``config``."""
    dtype = compute_dtype(config.precision)
    readout_trainer = None
    if network.readout is not None:
        readout_trainer = ReadoutTrainer(
            network,
            learning_rate=config.learning_rate,
            weight_decay=config.weight_decay,
            compute_dtype=dtype,
        )
    return LocalTrainer(
        network,
        learning_rate=config.learning_rate,
        loss=config.loss,
        threshold=config.threshold,
        sharpness=config.sharpness,
        negatives=negative_sampler(config.negatives, network.n_classes, config.negative_candidates),
        compute_dtype=dtype,
        compile=config.compile,
        weight_decay=config.weight_decay,
        skip_first_goodness=config.skip_first_goodness,
        peer_normalization=config.peer_normalization,
        readout_trainer=readout_trainer,
        label_candidates=config.negative_candidates,
    )


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) until the block has run, then raise it.

    Signals reach only the main thread, and only a handler we can put back
    is replaced: elsewhere the block runs as it is.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


def _copies_per_row(config: FitConfig, n_classes: int) -> int:
    """How many copies of each row a training step runs through the deeper
    layers: the labels it is trained on with the softmax loss; otherwise its
    positive and negative rows, plus, with hard negatives, the labels scored
    to draw the negative."""
    scored = min(config.negative_candidates or n_classes, n_classes - 1) + 1
    if config.loss == "softmax":
        return scored
    return 2 + (scored if config.negatives == "hard" else 0)


def fit_epochs(
    network: FFNetwork,
    embedding: LabelEmbedding,
    rows: TrainingRows,
    labels: np.ndarray,
    generator: torch.Generator,
    config: FitConfig,
    epochs: range,
    *,
    loss_curve: list[np.ndarray] | None = None,
    training_state: dict | None = None,
    row_weights: np.ndarray | None = None,
    validation: tuple | None = None,
) -> FitResult:
    """Train ``network`` in place for ``epochs`` (absolute epoch numbers, for
    the schedule) and return the :class:`FitResult`.

    ``labels`` are class indices of the rows; ``loss_curve`` and
    ``training_state`` continue an earlier fit; ``row_weights`` weigh each
    row's losses; ``validation`` is ``(X_val, y_val, weights_val)`` (class
    indices; row weights or None) for early stopping, scored by the
    accuracy weighted as the training rows are. Raises
    :class:`TrainingDivergedError` when a loss or a weight is no longer
    finite. A KeyboardInterrupt after at least one
    completed epoch keeps the last completed epoch and warns; before, it
    propagates (the caller still has the network as it was given).
    """
    device = rows.device
    loss_curve = list(loss_curve or [])
    # Building the optimisers imports parts of torch lazily on a process's
    # first fit; Ctrl-C in the middle of an import would leave torch broken
    # for the rest of the process, so it waits until they are built.
    with deferred_interrupts():
        trainer = make_trainer(network, config)
    if training_state is not None:
        trainer.load_state_dict(training_state)
    stopper = plateau = None
    if validation is not None:
        stopper = EarlyStopping(network, config.n_iter_no_change, config.tol)
    elif config.stop_on_loss_plateau:
        plateau = LossPlateau(config.n_iter_no_change, config.tol)
    n_samples = labels.shape[0]
    # Labels live where the row indices are drawn, next to the data.
    labels_t = torch.as_tensor(labels, dtype=torch.long, device=rows.index_device)
    weights_t = None
    # The stopping rule's tol is on the scale of unit weights: dividing by
    # the mean row weight keeps it so, so that scaling every weight (e.g.
    # weights normalised to sum to 1) changes neither the training nor when
    # it stops.
    plateau_scale = 1.0
    if row_weights is not None:
        weights_t = torch.as_tensor(row_weights, device=rows.index_device)
        plateau_scale = 1.0 / float(np.mean(row_weights, dtype=np.float64))
    # Negatives are drawn on the training device; when the indices are drawn
    # on the host (streamed data), a second generator draws them.
    order_generator = generator
    if rows.index_device != device:
        order_generator = torch.Generator().manual_seed(
            int(torch.randint(2**31 - 1, (1,), generator=generator, device=device))
        )
    batch_size = min(config.batch_size, n_samples)
    first_epoch_number = len(loss_curve)
    last_epoch_number = first_epoch_number + len(epochs)
    threads = ThreadChooser(
        config.n_threads,
        torch.get_num_threads(),
        products_work(
            batch_size,
            network.n_features,
            network.hidden_layer_sizes,
            copies=_copies_per_row(config, network.n_classes),
        ),
    )
    checkpoint = None  # the state after the last committed epoch, when another follows
    live_is_committed = True  # whether the network holds the last committed epoch
    interrupted = stopped_early = False
    try:
        with matmul_precision(device):
            for epoch in epochs:
                started = time.perf_counter()
                live_is_committed = False
                if device.type == "cpu":
                    set_threads(threads.choose())
                trainer.set_learning_rate_factor(
                    learning_rate_factor(
                        config.learning_rate_schedule,
                        # The schedule repeats: partial_fit calls after a
                        # completed schedule (e.g. after fit) start a new
                        # cycle at the full rate, a warm restart.
                        epoch % config.schedule_epochs,
                        config.schedule_epochs,
                    )
                )
                loss_sum = _train_one_epoch(
                    trainer, embedding, rows, labels_t, weights_t, generator, order_generator,
                    batch_size, config.verbose, len(loss_curve) + 1,
                )  # fmt: skip
                # The only host synchronisation of the epoch: the losses, and
                # whether every weight is still finite.
                finite = torch.stack([p.isfinite().all() for p in network.parameters()]).all()
                health = torch.cat([loss_sum / n_samples, finite.float()[None]]).cpu().numpy()
                epoch_losses = health[:-1]
                if not (np.isfinite(epoch_losses).all() and health[-1] == 1):
                    raise TrainingDivergedError(_divergence_message(epoch, epoch_losses, config))
                score = None
                if validation is not None:
                    X_val, y_val, weights_val = validation
                    predicted = predict_scores(
                        network,
                        embedding,
                        X_val,
                        config.precision,
                        skip_first_goodness=config.skip_first_goodness,
                        argmax=True,
                    )
                    score = float(np.average(predicted == y_val, weights=weights_val))
                is_last = epoch == epochs[-1]
                with deferred_interrupts():
                    loss_curve.append(epoch_losses)
                    stop = False
                    if stopper is not None:
                        stop = stopper.update(score)
                    elif plateau is not None:
                        stop = plateau.update(float(epoch_losses.sum()) * plateau_scale)
                    if not (is_last or stop):
                        if checkpoint is None:
                            checkpoint = EpochCheckpoint(network, trainer, generator)
                        else:
                            checkpoint.save()
                    live_is_committed = True
                if config.verbose:
                    print_epoch(
                        len(loss_curve),
                        last_epoch_number,
                        epoch_losses,
                        score,
                        time.perf_counter() - started,
                    )
                if stop:
                    stopped_early = not is_last
                    break
    except KeyboardInterrupt:
        completed = len(loss_curve) - first_epoch_number
        if completed == 0:
            raise  # nothing new to keep: the caller keeps what it had
        # An interrupted epoch may have updated some layers and not others:
        # go back to the end of the last committed one.
        if not live_is_committed:
            checkpoint.restore()
        interrupted = True
        warnings.warn(
            f"Training was interrupted (KeyboardInterrupt); keeping the model after epoch "
            f"{len(loss_curve)} ({completed} of {len(epochs)} epochs of this fit completed). "
            f"n_iter_ = {len(loss_curve)}.",
            UserWarning,
            stacklevel=6,
        )
    if stopper is not None and stopper.scores:
        stopper.restore_best()
    return FitResult(
        loss_curve=loss_curve,
        training_state=continuation_state(trainer, generator),
        validation_scores=None if stopper is None else list(stopper.scores),
        best_validation_score=None if stopper is None else stopper.best_score,
        interrupted=interrupted,
        stopped_early=stopped_early,
    )


def _train_one_epoch(
    trainer: LocalTrainer,
    embedding: LabelEmbedding,
    rows: TrainingRows,
    labels: torch.Tensor,
    row_weights: torch.Tensor | None,
    generator: torch.Generator,
    order_generator: torch.Generator,
    batch_size: int,
    verbose: int,
    epoch_number: int,
) -> torch.Tensor:
    """One pass over the rows in a random order; the mean local loss of each
    layer's losses summed over rows (a tensor on the device: no host
    synchronisation)."""
    device = rows.device
    n_samples = labels.shape[0]
    loss_sum = torch.zeros(len(trainer.network.layers), device=device)
    order = torch.randperm(n_samples, generator=order_generator, device=rows.index_device)
    batch_starts = range(0, n_samples, batch_size)
    if verbose >= 2:
        batch_starts = progress_bar(batch_starts, f"Epoch {epoch_number}")
    for start in batch_starts:
        batch = order[start : start + batch_size]
        features, label_values = embedding.split(rows.batch(batch))
        pos = labels[batch].to(device, non_blocking=True)
        weights = None
        if row_weights is not None:
            weights = row_weights[batch].to(device, non_blocking=True)
        loss_sum += trainer.step(features, label_values, pos, generator, weights) * batch.shape[0]
    return loss_sum


def _divergence_message(epoch: int, losses: np.ndarray, config: FitConfig) -> str:
    bad = [str(i + 1) for i, value in enumerate(losses) if not np.isfinite(value)]
    what = (
        f"the local loss of layer(s) {', '.join(bad)} became {losses[int(bad[0]) - 1]}"
        if bad
        else "some weights became NaN or infinite"
    )
    hints = [f"learning_rate={config.learning_rate} is probably too high"]
    if config.loss == "threshold":
        hints.append(f"threshold={config.threshold} may not suit the data")
    hints.append(f"sharpness={config.sharpness} may be too large")
    hints.append("check the scale of X (e.g. use StandardScaler)")
    return (
        f"Training diverged in epoch {epoch + 1}: {what}. " + "; ".join(hints) + ". "
        "The estimator keeps its previous state."
    )
