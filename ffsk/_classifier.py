"""The scikit-learn estimator: it validates, orchestrates and sets attributes.

The tensor math lives torch-side: the network and its forward pass in
``_network.py``, the epoch loop in ``_fit_loop.py``, inference in
``_inference.py``. This module turns scikit-learn inputs into what those need
and their results back into scikit-learn outputs.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._continuation import restore_generator
from ._devices import may_use_cuda, resolve_device, resolve_precision
from ._fit_loop import FitConfig, TrainingDivergedError, fit_epochs
from ._fitted_state import set_fitted_state
from ._inference import BLOCK_ROWS, predict_scores
from ._input_validation import (
    check_float32_range,
    check_hidden_layer_sizes,
    encode_labels,
    unique_labels,
)
from ._label_embedding import (
    ENCODINGS,
    LabelEmbedding,
    concat_label_value,
    largest_magnitude,
    power_of_two_scale,
    rms_row_length,
)
from ._losses import LOSS_NAMES
from ._network import FFNetwork
from ._pickling import pickle_state, restore_fitted_state, unpickle_state
from ._rows import TrainingRows
from ._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ._threads import ThreadChooser, products_work, restored_torch_threads, set_threads

__all__ = [
    "ForwardForwardClassifier",
    "TrainingDivergedError",
    "auto_batch_size",
    "auto_hidden_layer_sizes",
    "auto_learning_rate",
    "auto_sharpness",
]

#: Input accepted by fit and predict: array-likes, pandas frames and scipy
#: sparse matrices.
MatrixLike = ArrayLike | sp.spmatrix | sp.sparray


#: Beyond this many rows the ``"auto"`` settings treat the data as large: they
#: hold rows out for early stopping (HistGradientBoostingClassifier's rule)
#: and train two layers of 500 units on 500-row batches; up to it, one layer
#: of 200 units on 200-row batches, stopped on the training loss.
LARGE_DATA_ROWS = 10_000

#: Wrong labels scored per row by hard negatives with ``negative_candidates="auto"``.
AUTO_NEGATIVE_CANDIDATES = 9


def auto_hidden_layer_sizes(n_samples: int) -> tuple[int, ...]:
    """The network ``hidden_layer_sizes="auto"`` picks for ``n_samples`` rows."""
    return (500, 500) if n_samples > LARGE_DATA_ROWS else (200,)


def auto_batch_size(n_samples: int) -> int:
    """The mini-batch size ``batch_size="auto"`` picks for ``n_samples`` rows
    (before clipping to the number of rows)."""
    return 500 if n_samples > LARGE_DATA_ROWS else 200


def auto_learning_rate(batch_size: int, n_layers: int = 2) -> float:
    """The Adam rate ``learning_rate="auto"`` picks for ``batch_size``-row
    batches and ``n_layers`` hidden layers. It grows with the batch: for one
    layer ``batch_size / 2000`` up to 0.2 (0.1 at 200 rows), for deeper
    networks 0.01 up to 100 rows, then linearly to 0.09 at 500."""
    if n_layers == 1:
        return min(0.2, batch_size / 2000)
    return max(0.01, 0.0002 * batch_size - 0.01)


def auto_sharpness(loss: str) -> float:
    """The scale of goodness ``sharpness="auto"`` picks for ``loss``: 1 for the
    threshold loss (the reference example's), 10 for SymBa and softmax."""
    return 1.0 if loss == "threshold" else 10.0


class ForwardForwardClassifier(ClassifierMixin, BaseEstimator):
    """Classifier trained with Hinton's Forward-Forward algorithm.

    Each layer is trained by its own local loss to give high *goodness* (mean
    squared ReLU activity) to *positive* rows (a sample with its true label
    embedded) and low goodness to *negative* rows (the same sample with a
    wrong label). No gradient crosses a layer boundary. A sample is classified
    by embedding every candidate label and picking the label with the highest
    goodness summed over layers.

    Parameters
    ----------
    hidden_layer_sizes : int, sequence of int or "auto", default="auto"
        Number of ReLU units of each layer. An int means one layer.
        ``"auto"`` sizes the network to the data: one layer of 200 units for
        up to 10,000 training rows, where it fitted small tables as
        accurately as two layers of 500 in a fraction of the time, and two
        layers of 500 for more (figures in the user guide). A continued fit
        (``warm_start`` or :meth:`partial_fit`) keeps the network of the first
        fit; :meth:`partial_fit` sizes it on the first call's rows.

    threshold : float, default=2.0
        Goodness threshold of ``loss="threshold"``: positive rows are pushed
        above it, negative rows below it. Must be > 0. Ignored by
        ``loss="symba"``.

    epochs : int, default=100
        Most passes over the training data (``MLPClassifier``'s ``max_iter``):
        :meth:`fit` stops earlier when its stopping rule says so (see
        ``early_stopping``), and warns with a ``ConvergenceWarning`` when it
        reaches ``epochs`` first. The linear-decay schedule spans ``epochs``.
        Each :meth:`partial_fit` call trains one epoch.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch (clipped to the number of samples). Every layer
        takes one optimiser step per mini-batch. ``"auto"`` uses 200 rows
        (``MLPClassifier``'s ``min(200, n_samples)``) for up to 10,000 rows
        and 500 rows for more, where larger products run closer to the
        machine's matrix-product speed and a larger ``learning_rate`` makes
        up for the fewer steps.

    learning_rate : float or "auto", default="auto"
        Adam learning rate of every layer. ``"auto"`` grows with the batch
        size (clipped to the number of samples): ``min(0.2, batch_size /
        2000)`` for one hidden layer (0.1 at 200 rows) and ``max(0.01, 0.0002
        * batch_size - 0.01)`` for deeper networks (0.01 up to 100 rows, 0.09
        at 500); one layer learned best at about twice the deeper networks'
        rate (measurements in the user guide).

    learning_rate_schedule : {"linear_decay", "constant"}, default="linear_decay"
        ``"linear_decay"`` (Hinton, 2022) keeps ``learning_rate`` for the first
        half of the epochs, then decreases it linearly, epoch by epoch, to
        ``2 / epochs`` times its value in the last epoch. ``"constant"`` keeps
        ``learning_rate`` throughout. The decay is the default: it gained
        accuracy at the same number of epochs (figures in docs/benchmarks.md).
        Each :meth:`fit` runs the whole schedule (``warm_start`` included);
        :meth:`partial_fit` call ``i`` (counted by ``n_iter_``) uses the factor
        of epoch ``i % epochs``, so ``epochs`` calls train as one fit, and
        further calls — e.g. continuing a fitted model on new data — start a
        new cycle at the full learning rate (a warm restart) instead of
        crawling on at the last epoch's ``2 / epochs``.

    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW, Loshchilov & Hutter, 2019): every
        optimiser step multiplies each layer's weights (and the read-out's) by
        ``1 - lr * weight_decay``, with ``lr`` the step's learning rate. It is
        not added to the gradient: Forward-Forward's local gradients are tiny,
        so an L2 term there would dominate them and, through Adam's
        normalisation, erase the weights. Ordinary values (``1e-4`` to
        ``1e-1``) regularise gently.

    label_encoding : {"concat", "overlay"}, default="concat"
        How a label is embedded in an input row. ``"concat"`` appends a one-hot
        label to the features and works for any data. ``"overlay"`` writes the
        one-hot over the first ``n_classes`` features (Hinton's MNIST setup); it
        needs at least ``n_classes`` features, and those must carry no
        information.

    label_scale : float, default=0.5
        Size of the embedded label. With ``"concat"``, the label's value is
        ``label_scale`` times the root-mean-square length of the training rows,
        so the label weighs the same against the features whatever their scale.
        With ``"overlay"``, it is ``label_scale`` times the row's largest
        absolute value.

    negatives : {"hard", "random"}, default="hard"
        How negative rows are made. ``"random"``: each row gets a label drawn
        uniformly from its wrong labels. ``"hard"`` (Hinton, 2022): the wrong
        label is drawn with probability proportional to ``exp(score)`` over the
        wrong labels, scored by the current network on the mini-batch, so the
        labels the model confuses with the true one are trained against most.
        Scoring all labels of a batch costs one forward pass of the deeper
        layers per label (the first layer's product is shared): epochs cost
        more than with ``"random"``, but reach a given accuracy sooner (see
        docs/benchmarks.md). With many classes, ``"random"`` trains faster.

    negative_candidates : int or "auto", default="auto"
        With ``negatives="hard"``, how many wrong labels each row scores: its
        negative is drawn among those, in proportion to ``exp(score)``. With
        ``loss="softmax"``, how many wrong labels each row is trained on. Fewer
        candidates than wrong labels make a training step's cost independent
        of the number of classes (the candidates are drawn uniformly, so every
        wrong label is scored now and then). ``"auto"`` uses 9: every wrong
        label for up to 10 classes, 9 of them beyond.

    readout : {"goodness", "softmax"}, default="goodness"
        How a sample is classified. ``"goodness"``: embed each of the ``k``
        labels and pick the one with the highest goodness (``k`` forward
        passes of the deeper layers per sample). ``"softmax"`` (Hinton, 2022):
        one forward pass with a neutral label (``1/k`` in every label slot), read
        by a linear softmax classifier trained alongside by its own
        cross-entropy on the normalised activities of the layers (all but the
        first when there are several); no gradient reaches the Forward-Forward
        layers. Prediction is then about ``k`` times cheaper in the deeper
        layers, and ``decision_function`` returns the classifier's logits.

    peer_normalization : float, default=0.0
        Strength of Hinton's peer normalisation, which keeps every unit about
        as active as its peers so that none dies or dominates: the gradient
        of each positive row's pre-activation gets ``peer_normalization *
        (sharpness / h) * (m_j - mean(m))`` for unit ``j`` of ``h`` where the
        unit is active, averaged over the batch like the loss's gradient;
        ``m_j`` is a running mean (momentum 0.9) of the unit's activity on
        positive rows. The ``sharpness / h`` factor keeps the balance of
        Hinton's code (goodness a sum of squares) with the losses here
        (goodness a mean of squares, scaled by ``sharpness``), so Hinton's
        0.03 means the same at every width, loss and sharpness. 0 turns it
        off. It is not included in ``loss_curve_``.

    goodness_layers : {"all", "skip_first"}, default="all"
        Which layers' goodness is summed into a label's score (for prediction
        and for hard negatives). ``"skip_first"`` leaves out the first hidden
        layer when there are several, as Hinton (2022) found better. Read
        again at each prediction (like ``KNeighborsClassifier``'s
        ``n_neighbors``), so a fitted model can be scored both ways with
        ``set_params`` and no refit.

    loss : {"symba", "threshold", "softmax"}, default="symba"
        Local loss of every layer, with ``g_pos``/``g_neg`` the goodness of a
        row with its true/wrong label. ``"threshold"`` (Hinton, 2022):
        ``softplus(sharpness * (threshold - g_pos)) + softplus(sharpness *
        (g_neg - threshold))``.
        ``"symba"`` (Lee & Song, 2023): ``softplus(-sharpness * (g_pos - g_neg))``,
        which learns from the first epoch where the threshold loss first spends
        epochs pushing all goodness towards the threshold. ``"softmax"``: the
        cross-entropy of ``softmax(sharpness * g)`` over the goodness of the
        row with each label, so that every wrong label is a negative at once,
        pushed down as much as the layer prefers it (``negatives`` is then
        unused, ``negative_candidates`` limits the labels). Each layer sees
        every label of every row, which costs more per epoch than one negative
        but learned MNIST far faster per second (user guide).

    sharpness : float or "auto", default="auto"
        The scale of goodness inside each loss (the SymBa paper's ``alpha``;
        named otherwise here because ``alpha`` is the L2 penalty in
        scikit-learn's ``MLPClassifier`` and ``SGDClassifier``, which is
        ``weight_decay`` here). Must be > 0. ``"auto"``: 10 for
        ``loss="symba"`` and ``loss="softmax"``, 1 for ``loss="threshold"``
        (the reference example's loss). Hinton's own threshold loss,
        ``sigmoid(sum of squares - h)`` over ``h`` units, is
        ``threshold=1.0, sharpness=h``.

    device : str or torch.device, default="auto"
        Where to train and predict. ``"auto"`` uses CUDA when available and the
        CPU otherwise; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
        :class:`torch.device` are accepted. Asking for CUDA where there is none
        raises a ``ValueError`` at fit.

    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the matrix products in training and prediction; weights,
        gradients, optimiser state and goodness always stay float32.
        ``"bfloat16"`` runs the products in bfloat16. ``"float32"`` runs them in
        float32 (on CUDA, TensorFloat-32 products are allowed, inside ffsk
        only). ``"auto"`` uses bfloat16 on CPUs with native bfloat16 units
        (AVX512-BF16 or AMX), where it is faster with the same accuracy (see
        docs/benchmarks.md), and float32 elsewhere. Use ``"float32"`` for results that do
        not depend on the CPU model.

    n_threads : int or "auto", default="auto"
        CPU threads torch uses while ffsk trains or predicts. ``"auto"``:
        before every epoch (and every prediction), as many as there are
        cores that other processes leave idle, up to the number torch would
        use anyway (``OMP_NUM_THREADS``, ``torch.set_num_threads``, joblib's
        worker limits): Forward-Forward's small products slow down badly when
        their threads share a core with other work. Work too small to share
        (under 2**21 multiply-adds per step or prediction block, e.g. a
        one-layer fit on a table of a few dozen features) runs on one
        thread. An int uses that many. Your torch setting is restored after
        every call.

    compile : bool, default=False
        Fuse the element-wise work of each layer's local loss with
        :func:`torch.compile`. Costs compilation time (seconds to a minute) at
        the start of each fit; off by default because the training step is
        dominated by its matrix products (see docs/benchmarks.md).

    warm_start : bool, default=False
        When True, :meth:`fit` on a fitted estimator goes on training its
        network (with its optimiser state and random generator) for another
        ``epochs`` epochs instead of starting a new one. The classes of ``y``
        must be among ``classes_``, and ``hidden_layer_sizes``, ``readout``
        and ``label_encoding`` cannot change; it keeps the device and
        precision the first fit resolved (``device_``, ``precision_``)
        whatever ``device`` and ``precision`` say now. ``n_iter_`` and
        ``loss_curve_`` count all epochs.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes' rows in every local loss, ``{label: weight}``;
        ``"balanced"`` uses ``n_samples / (n_classes * np.bincount(y))`` (not
        with ``partial_fit``). Multiplied by ``sample_weight`` when both are
        given. None: all classes weigh 1.

    early_stopping : bool or "auto", default="auto"
        True: hold out a stratified ``validation_fraction`` of the training
        rows, score them after every epoch, stop when the accuracy has not
        improved by more than ``tol`` for ``n_iter_no_change`` epochs, and
        keep the weights of the best epoch. False: train on all rows and stop
        when the training loss (the local losses summed over layers) has not
        fallen by more than ``tol`` for ``n_iter_no_change`` epochs, as
        ``MLPClassifier`` does without early stopping. ``"auto"``: True when
        the training data has more than 10,000 rows, False otherwise (as in
        ``HistGradientBoostingClassifier``). Either way ``epochs`` is the
        upper bound, and reaching it without stopping warns with a
        ``ConvergenceWarning``. :meth:`partial_fit` never stops or holds rows
        out: it raises a ValueError with ``early_stopping=True``.

    validation_fraction : float, default=0.1
        Share of the training rows held out for early stopping, in (0, 1).
        Their accuracy is weighted by their ``sample_weight`` and
        ``class_weight``, as the training rows' losses are.

    n_iter_no_change : int or np.inf, default=10
        Epochs without an improvement of at least ``tol`` before training
        stops; ``np.inf`` never stops early (as in ``MLPClassifier``).

    tol : float, default=1e-4
        Smallest rise of the validation accuracy (with early stopping), or
        fall of the training loss (without), that counts as improvement.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and negative sampling through a
        private :class:`torch.Generator` (torch's global random state is never
        read or changed). With an int, fits on the CPU are reproducible.

    verbose : int, default=0
        If > 0, print one line per epoch to stdout: the epoch, the local loss
        of each layer, the validation accuracy (with ``early_stopping``) and
        the epoch's seconds. If > 1, also a progress bar over each epoch's
        mini-batches (needs tqdm: ``pip install ffsk[progress]``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during fit.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when ``X`` has feature
        names that are all strings.

    network_ : torch.nn.Module
        The trained Forward-Forward network.

    device_ : torch.device
        Device the network lives on.

    precision_ : {"float32", "bfloat16"}
        Precision of the matrix products, as resolved from ``precision`` at
        fit; prediction uses it too.

    label_embedding_ : LabelEmbedding
        How labels are embedded, including the label value chosen from the
        training data.

    n_iter_ : int
        Number of epochs run, over all calls when training was continued
        (``warm_start`` or ``partial_fit``).

    loss_curve_ : ndarray of shape (`n_iter_`, n_layers)
        Mean local loss of each layer in each epoch.

    validation_scores_ : list of float or None
        Validation accuracy after each epoch of the last ``fit`` with
        ``early_stopping=True``; None otherwise.

    best_validation_score_ : float or None
        The best of ``validation_scores_``, whose weights the model keeps;
        None without early stopping.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : A backpropagation network.

    References
    ----------
    G. Hinton, "The Forward-Forward Algorithm: Some Preliminary
    Investigations", arXiv:2212.13345, 2022.

    H.-C. Lee and J. Song, "SymBa: A Symmetric Bidirectional Loss for the
    Forward-Forward Algorithm", arXiv:2303.08418, 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from ffsk import ForwardForwardClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = ForwardForwardClassifier(random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            StrOptions({"auto"}),
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "learning_rate_schedule": [StrOptions({"constant", "linear_decay"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "goodness_layers": [StrOptions({"all", "skip_first"})],
        "readout": [StrOptions({"goodness", "softmax"})],
        "peer_normalization": [Interval(Real, 0, None, closed="left")],
        "label_encoding": [StrOptions(set(ENCODINGS))],
        "label_scale": [Interval(Real, 0, None, closed="neither")],
        "negatives": [StrOptions({"random", "hard"})],
        "negative_candidates": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(LOSS_NAMES))],
        "sharpness": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "compile": ["boolean"],
        "n_threads": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes: int | Sequence[int] | str = "auto",
        threshold: float = 2.0,
        epochs: int = 100,
        batch_size: int | str = "auto",
        learning_rate: float | str = "auto",
        learning_rate_schedule: str = "linear_decay",
        weight_decay: float = 0.0,
        label_encoding: str = "concat",
        label_scale: float = 0.5,
        negatives: str = "hard",
        negative_candidates: int | str = "auto",
        goodness_layers: str = "all",
        readout: str = "goodness",
        peer_normalization: float = 0.0,
        loss: str = "symba",
        sharpness: float | str = "auto",
        device: str | torch.device = "auto",
        precision: str = "auto",
        compile: bool = False,
        n_threads: int | str = "auto",
        warm_start: bool = False,
        class_weight: dict | str | None = None,
        early_stopping: bool | str = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.threshold = threshold
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.label_encoding = label_encoding
        self.label_scale = label_scale
        self.negatives = negatives
        self.negative_candidates = negative_candidates
        self.goodness_layers = goodness_layers
        self.readout = readout
        self.peer_normalization = peer_normalization
        self.loss = loss
        self.sharpness = sharpness
        self.device = device
        self.precision = precision
        self.compile = compile
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> ForwardForwardClassifier:
        """Train the network on ``X`` with labels ``y`` for ``epochs`` epochs.

        With ``warm_start=True`` and a fitted estimator, training goes on from
        the fitted network (and its optimiser state) instead of a new one.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse rows are densified one mini-batch at a time.

        y : array-like of shape (n_samples,)
            Class labels (any hashable labels: ints, strings, ...).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; each row's local losses (and the softmax
            read-out's cross-entropy) are multiplied by its weight. None weighs
            every row 1. Multiplied by the weights of ``class_weight``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_keeping_state_on_failure(
            X, y, incremental=False, sample_weight=sample_weight
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: MatrixLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> ForwardForwardClassifier:
        """Train for one epoch over ``X``, going on from the current network.

        The first call builds the network and needs ``classes``; later calls
        continue it, with its optimiser state and random generator, so calling
        ``partial_fit`` ``epochs`` times on the same data trains the same
        network as one :meth:`fit` (``learning_rate_schedule`` counts the
        epochs of all calls against ``epochs``). The label value of
        ``label_encoding="concat"`` is fixed from the first call's data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data of this epoch.

        y : array-like of shape (n_samples,)
            Class labels; all must be in ``classes_``.

        classes : array-like of shape (n_classes,), default=None
            All the labels that calls to ``partial_fit`` may see. Required on
            the first call; later calls may omit it or pass the same classes
            (other classes raise a ValueError, as in scikit-learn).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows' losses, as in :meth:`fit`.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_keeping_state_on_failure(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def _fit_keeping_state_on_failure(self, X, y, **kwargs):
        previous_state = dict(self.__dict__)
        try:
            with restored_torch_threads():
                return self._fit(X, y, **kwargs)
        except BaseException:
            # Never leave a half-fitted estimator: restore exactly what was
            # there (a continued fit trains copies, so the old network is intact).
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _fit(self, X, y, *, incremental: bool, classes=None, sample_weight=None):
        continuing = (incremental or self.warm_start) and hasattr(self, "network_")
        if incremental and self.early_stopping is True:
            raise ValueError(
                "partial_fit does not support early_stopping=True: one call trains one "
                "epoch on the data it is given, with no held-out rows to stop on. Set "
                "early_stopping=False, or score your own validation data between calls."
            )
        if incremental and continuing and classes is not None:
            if not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
                raise ValueError(
                    f"`classes={np.unique(np.asarray(classes)).tolist()!r}` is not the same "
                    f"as on the first call to partial_fit, was: {self.classes_.tolist()!r}. "
                    "A continued fit cannot change its classes; fit a new model instead."
                )
        if continuing:
            self._check_same_architecture()
            X, y = validate_data(
                self, X, y, accept_sparse="csr", dtype=(np.float32, np.float64), reset=False
            )
            check_float32_range(X, self.label_embedding_.feature_scale)
            y_encoded = self._encode_known_labels(y)
            classes = self.classes_
            device, embedding, precision = self.device_, self.label_embedding_, self.precision_
            network = copy.deepcopy(self.network_)
            generator = restore_generator(self._training_state_, device)
            training_state = self._training_state_["trainer"]
            first_epoch, loss_curve = self.n_iter_, list(self.loss_curve_)
        else:
            device = resolve_device(self.device)
            X, y = validate_data(
                self, X, y, accept_sparse="csr", dtype=(np.float32, np.float64), reset=True
            )
            check_classification_targets(y)
            hidden_layer_sizes = self._resolved_hidden_layer_sizes(X.shape[0])
            classes, y_encoded = self._classes_and_codes(y, incremental, classes)
            largest = largest_magnitude(X)  # one pass over X for both uses
            embedding = self._label_embedding(X, classes.shape[0], largest)
            check_float32_range(X, embedding.feature_scale, largest)
            generator = torch.Generator(device=device)
            generator.manual_seed(int(check_random_state(self.random_state).randint(2**31 - 1)))
            network = FFNetwork(
                embedding.n_network_features,
                classes.shape[0],
                hidden_layer_sizes,
                generator,
                readout=self.readout == "softmax",
            )
            precision = resolve_precision(self.precision, device)
            training_state, first_epoch, loss_curve = None, 0, []
        row_weights = self._row_weights(X, y, y_encoded, classes, sample_weight, incremental)
        n_rows = X.shape[0]  # before any rows are held out
        validation = None
        if not incremental and self._uses_early_stopping(X.shape[0]):
            X, y_encoded, row_weights, validation = self._split_validation(
                X, y_encoded, row_weights, generator, embedding.feature_scale
            )
        epochs = range(first_epoch, first_epoch + 1) if incremental else range(self.epochs)
        result = fit_epochs(
            network,
            embedding,
            TrainingRows(X, device, scale=embedding.feature_scale),
            y_encoded,
            generator,
            self._fit_config(
                precision,
                n_samples=n_rows,
                n_training_rows=y_encoded.shape[0],
                n_layers=len(network.hidden_layer_sizes),
                stop_on_loss_plateau=not incremental,
            ),
            epochs,
            loss_curve=loss_curve,
            training_state=training_state,
            row_weights=row_weights,
            validation=validation,
        )
        network.zero_grad(set_to_none=True)  # gradient buffers are only needed to train
        if not (incremental or result.stopped_early or result.interrupted):
            criterion = "validation accuracy" if validation is not None else "training loss"
            warnings.warn(
                f"ForwardForwardClassifier ran all epochs={self.epochs} without converging: "
                f"its {criterion} was still improving by more than tol={self.tol} within "
                f"n_iter_no_change={self.n_iter_no_change} epochs. Raise epochs (or tol) "
                "to let it stop on its own.",
                ConvergenceWarning,
                stacklevel=5,
            )
        fitted = {
            "classes_": classes,
            "n_features_in_": self.n_features_in_,
            "network_": network,
            "device_": device,
            "precision_": precision,
            "label_embedding_": embedding,
            "n_iter_": len(result.loss_curve),
            "loss_curve_": np.asarray(result.loss_curve, dtype=np.float64),
            "validation_scores_": result.validation_scores,
            "best_validation_score_": result.best_validation_score,
            "_training_state_": result.training_state,
        }
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = self.feature_names_in_
        set_fitted_state(self, fitted)
        return self

    def _uses_early_stopping(self, n_samples: int) -> bool:
        if self.early_stopping == "auto":
            return n_samples > LARGE_DATA_ROWS
        return bool(self.early_stopping)

    def _fit_config(
        self,
        precision: str,
        *,
        n_samples: int,
        n_training_rows: int,
        n_layers: int,
        stop_on_loss_plateau: bool = False,
    ) -> FitConfig:
        """The torch-side settings, ``"auto"`` ones resolved for ``n_samples``
        rows given to this call (``n_training_rows`` of them trained on)."""
        batch_size = auto_batch_size(n_samples) if self.batch_size == "auto" else self.batch_size
        learning_rate = self.learning_rate
        if learning_rate == "auto":
            learning_rate = auto_learning_rate(min(batch_size, n_training_rows), n_layers)
        return FitConfig(
            learning_rate=learning_rate,
            learning_rate_schedule=self.learning_rate_schedule,
            schedule_epochs=self.epochs,
            loss=self.loss,
            threshold=self.threshold,
            sharpness=self._resolved_sharpness(),
            weight_decay=self.weight_decay,
            negatives=self.negatives,
            skip_first_goodness=self.goodness_layers == "skip_first",
            peer_normalization=self.peer_normalization,
            precision=precision,
            compile=self.compile,
            batch_size=batch_size,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            verbose=self.verbose,
            n_threads=self.n_threads,
            stop_on_loss_plateau=stop_on_loss_plateau,
            negative_candidates=(
                AUTO_NEGATIVE_CANDIDATES
                if self.negative_candidates == "auto"
                else self.negative_candidates
            ),
        )

    def _split_validation(self, X, y_encoded, row_weights, generator, feature_scale: float):
        """Hold out a stratified ``validation_fraction`` of the rows, with
        their weights (the validation accuracy is weighted as scikit-learn's
        MLPClassifier weights it)."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))
        indices = np.arange(X.shape[0])
        train, held_out = train_test_split(
            indices, test_size=self.validation_fraction, stratify=y_encoded, random_state=seed
        )
        train.sort()
        held_out.sort()
        weights = weights_val = None
        if row_weights is not None:
            weights, weights_val = row_weights[train], row_weights[held_out]
            if not weights_val.any():  # nothing to weigh the score by
                weights_val = None
        X_val = X[held_out]
        if not sp.issparse(X_val) and feature_scale == 1.0:
            # Scored after every epoch: convert once, not once per epoch
            # (rows to be rescaled stay float64, which holds any scale).
            X_val = X_val.astype(np.float32, copy=False)
        return X[train], y_encoded[train], weights, (X_val, y_encoded[held_out], weights_val)

    def _row_weights(
        self, X, y, y_encoded, classes, sample_weight, incremental: bool
    ) -> np.ndarray | None:
        """Each row's loss weight (float32), or None when all are 1. Class
        weights are looked up among all of ``classes``, so a ``partial_fit``
        chunk may lack some of them."""
        if sample_weight is None and self.class_weight is None:
            return None
        weights = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
        if self.class_weight is not None:
            if incremental and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: the class "
                    "frequencies of one chunk are not those of the data. Pass a dict of "
                    "class weights computed on the whole data instead."
                )
            # "balanced" reaches here only from fit, where classes are y's own.
            per_class = compute_class_weight(self.class_weight, classes=classes, y=y)
            weights = weights * per_class[y_encoded].astype(np.float32)
        return weights

    def _classes_and_codes(self, y, incremental: bool, classes) -> tuple[np.ndarray, np.ndarray]:
        """The classes of a new fit and ``y`` as indices into them."""
        if incremental:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.asarray(classes)
            if classes.ndim != 1:
                raise ValueError(
                    f"classes must be a 1-D array-like of labels, got shape {classes.shape}."
                )
            classes = unique_labels(classes, "classes")
            y_encoded = encode_labels(y, classes, "classes")
        else:
            classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "ForwardForwardClassifier needs samples of at least 2 classes in the "
                f"data, but the data contain only one class: {classes[0]!r}."
            )
        return classes, y_encoded

    def _encode_known_labels(self, y) -> np.ndarray:
        """``y`` as indices into ``classes_``, for a continued fit."""
        check_classification_targets(y)
        return encode_labels(
            y,
            self.classes_,
            f"classes_ {self.classes_.tolist()}",
            ". A continued fit (warm_start or partial_fit) cannot learn new classes; "
            "fit a new model instead.",
        )

    def _check_same_architecture(self) -> None:
        network = self.network_
        changes = []
        hidden_layer_sizes = self._resolved_hidden_layer_sizes(0, network.hidden_layer_sizes)
        if hidden_layer_sizes != network.hidden_layer_sizes:
            changes.append(
                f"hidden_layer_sizes {network.hidden_layer_sizes} -> {hidden_layer_sizes}"
            )
        if (self.readout == "softmax") != (network.readout is not None):
            changes.append(f"readout -> {self.readout!r}")
        if self.label_encoding != self.label_embedding_.encoding:
            changes.append(
                f"label_encoding {self.label_embedding_.encoding!r} -> {self.label_encoding!r}"
            )
        if changes:
            raise ValueError(
                "A continued fit (warm_start=True or partial_fit) cannot change the "
                f"network's structure, but {', '.join(changes)}. Set warm_start=False "
                "or fit a new estimator."
            )

    def _resolved_hidden_layer_sizes(
        self, n_samples: int, continued: tuple[int, ...] | None = None
    ) -> tuple[int, ...]:
        """The network's sizes; ``"auto"`` keeps the ``continued`` network's."""
        if isinstance(self.hidden_layer_sizes, str):  # "auto"; _fit_context checked it
            return continued or auto_hidden_layer_sizes(n_samples)
        return check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _label_embedding(self, X, n_classes: int, largest: float) -> LabelEmbedding:
        """The label embedding for training rows ``X`` whose largest
        magnitude is ``largest``."""
        rms = rms_row_length(X, largest)
        feature_scale = power_of_two_scale(rms)
        if self.label_encoding == "overlay":
            # The label is label_scale times each row's largest value.
            concat_label_value(largest * feature_scale, self.label_scale)  # checks the size
            label_value = float(self.label_scale)
        else:
            label_value = concat_label_value(rms * feature_scale, self.label_scale)
        return LabelEmbedding(
            self.label_encoding, X.shape[1], n_classes, label_value, feature_scale
        )

    # -------------------------------------------------------------- predict
    def decision_function(self, X: MatrixLike) -> np.ndarray:
        """Score of each class: goodness summed over layers with that label.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Scores as float64. With two classes, the 1-D difference
            ``score(classes_[1]) - score(classes_[0])``.
        """
        scores = self._label_scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def _logits(self, X) -> np.ndarray:
        """The logits ``predict_proba`` takes the softmax of: the read-out's,
        or the class scores times the loss's sharpness, the scale at which
        every layer's loss compared goodness in training (for
        ``loss="softmax"`` exactly the probabilities one layer was trained
        to give)."""
        scores = self._label_scores(X)
        if self.network_.readout is None:
            scores *= self._resolved_sharpness()
        return scores

    def _resolved_sharpness(self) -> float:
        """``sharpness``, with ``"auto"`` resolved for the loss."""
        return auto_sharpness(self.loss) if self.sharpness == "auto" else self.sharpness

    def predict_proba(self, X: MatrixLike) -> np.ndarray:
        """Class probabilities: the softmax of the class scores (the goodness
        summed over layers) times ``sharpness``, or of the softmax read-out's
        logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities as float64; each row sums to 1.
        """
        scores = self._logits(X)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """Logarithm of the class probabilities: the log-softmax of
        :meth:`predict_proba`'s logits (computed without forming the
        probabilities, so it stays finite where a probability underflows to 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities as float64.
        """
        scores = self._logits(X)
        scores -= scores.max(axis=1, keepdims=True)
        scores -= np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return scores

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predict the class of each sample: the label with the highest score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        codes = self._label_scores(X, argmax=True)  # checks that the model is fitted first
        return self.classes_[codes]

    def _label_scores(self, X, argmax: bool = False) -> np.ndarray:
        """All class scores ``(n, k)`` (float64), or with ``argmax`` each
        row's best class index, for the thread count chosen for this call
        (torch's setting is restored afterwards)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float32, np.float64), reset=False)
        check_float32_range(X, self.label_embedding_.feature_scale)
        with restored_torch_threads() as limit:
            if self.device_.type == "cpu":
                work = products_work(
                    min(X.shape[0], BLOCK_ROWS),
                    self.network_.n_features,
                    self.network_.hidden_layer_sizes,
                    # the softmax read-out reads one neutral-label pass per row
                    copies=1 if self.network_.readout is not None else self.network_.n_classes,
                )
                set_threads(ThreadChooser(self.n_threads, limit, work).choose())
            return predict_scores(
                self.network_,
                self.label_embedding_,
                X,
                self.precision_,
                skip_first_goodness=self.goodness_layers == "skip_first",
                argmax=argmax,
            )

    # ------------------------------------------------------ scikit-learn API
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # CUDA kernels may change the last bits of results between runs.
        tags.non_deterministic = may_use_cuda(self.device)
        return tags

    def __getstate__(self) -> dict:
        return pickle_state(self, super().__getstate__())

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(unpickle_state(state))
        restore_fitted_state(self)
