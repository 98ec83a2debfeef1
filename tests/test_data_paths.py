"""How data reaches the device: once per fit, no per-batch host round trips,
streamed batches equal to on-device ones, bounded prediction blocks, thread
limits under joblib, and the CUDA-only settings (checked on the CPU)."""

import numpy as np
import torch
from joblib import Parallel, delayed

import ffsk._classifier as classifier_module
from ffsk import ForwardForwardClassifier
from ffsk._batches import TrainingRows, fits_on_device
from ffsk._devices import matmul_precision
from ffsk._network import FFNetwork
from ffsk._scoring import BLOCK_ROWS, LabelScorer

PARAMS = dict(hidden_layer_sizes=(16, 8), epochs=3, batch_size=10, random_state=0, device="cpu")


def test_streamed_host_batches_train_the_same_model_as_device_batches(blobs, monkeypatch):
    X, y = blobs
    on_device = ForwardForwardClassifier(**PARAMS).fit(X, y)

    class HostRows(TrainingRows):
        def __init__(self, X, device):
            super().__init__(X, device, keep_on_host=True)

    monkeypatch.setattr(classifier_module, "TrainingRows", HostRows)
    streamed = ForwardForwardClassifier(**PARAMS).fit(X, y)
    # On the CPU both draw the same permutations: the models are identical.
    np.testing.assert_array_equal(streamed.predict_proba(X), on_device.predict_proba(X))
    assert streamed.score(X, y) > 0.8


def test_host_rows_gather_exactly_the_requested_rows(blobs):
    X, _ = blobs
    rows = TrainingRows(X, torch.device("cpu"), keep_on_host=True)
    indices = torch.tensor([5, 0, 17])
    np.testing.assert_array_equal(rows.batch(indices).numpy(), X[[5, 0, 17]].astype(np.float32))


def test_data_goes_to_a_gpu_only_when_it_fits(monkeypatch):
    free = 1_000_000
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 4 * free))
    cuda = torch.device("cuda")
    assert fits_on_device(free // 4, cuda)
    assert not fits_on_device(free, cuda)
    assert fits_on_device(10**15, torch.device("cpu"))


def test_fit_reads_back_from_the_device_once_per_epoch_not_per_batch(blobs, monkeypatch):
    """Host round trips (.cpu/.item/.numpy/.tolist) happen once per epoch."""
    X, y = blobs
    calls = {"n": 0}
    for name in ("cpu", "item", "numpy", "tolist"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, **kwargs):
            calls["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    epochs, batches_per_epoch = 4, len(X) // PARAMS["batch_size"]
    ForwardForwardClassifier(**{**PARAMS, "epochs": epochs}).fit(X, y)
    assert batches_per_epoch == 12
    # one .cpu() and one .numpy() per epoch, whatever the number of batches
    assert calls["n"] == 2 * epochs


def _torch_threads_in_worker():
    import torch

    return torch.get_num_threads()


def test_torch_follows_joblib_worker_thread_limits():
    """Under n_jobs=2, loky tells each worker to use cpu_count // 2 threads,
    so GridSearchCV(n_jobs=...) does not oversubscribe the cores."""
    import os

    threads = Parallel(n_jobs=2, backend="loky")(
        delayed(_torch_threads_in_worker)() for _ in range(2)
    )
    limit = max(1, (os.cpu_count() or 1) // 2)
    assert all(t <= limit for t in threads), threads


def test_tf32_is_allowed_only_inside_ffsk_calls_on_cuda():
    flag = torch.backends.cuda.matmul
    before = flag.allow_tf32
    flag.allow_tf32 = False
    try:
        with matmul_precision(torch.device("cuda")):
            assert flag.allow_tf32
        assert flag.allow_tf32 is False
        with matmul_precision(torch.device("cpu")):
            assert flag.allow_tf32 is False
    finally:
        flag.allow_tf32 = before


def test_prediction_blocks_shrink_for_many_classes_and_stay_exact():
    generator = torch.Generator().manual_seed(0)
    network = FFNetwork(5, 500, (300, 300), generator)
    scorer = LabelScorer(network)
    assert scorer.block_rows < BLOCK_ROWS and scorer.block_rows % 16 == 0
    assert scorer.block_rows * 500 * 304 <= 1 << 22
    features = torch.randn(scorer.block_rows + 5, 5)
    values = torch.ones(len(features))
    full = scorer.scores(features, values)
    assert full.shape == (len(features), 500)
    assert torch.equal(scorer.scores(features[-3:], values[-3:]), full[-3:])


def test_bfloat16_products_train_and_predict_close_to_float32(blobs):
    X, y = blobs
    full = ForwardForwardClassifier(**{**PARAMS, "epochs": 20, "precision": "float32"}).fit(X, y)
    assert full.precision_ == "float32"
    half = ForwardForwardClassifier(**{**PARAMS, "epochs": 20, "precision": "bfloat16"}).fit(X, y)
    assert half.score(X, y) > 0.9
    assert np.mean(half.predict(X) == full.predict(X)) > 0.9
    assert all(p.dtype == torch.float32 for p in half.network_.parameters())
    # same weights, bfloat16 products: scores differ only by rounding
    assert half.precision_ == "bfloat16"
    half_scores = half._label_scores(X)
    half.precision_ = "float32"
    np.testing.assert_allclose(half_scores, half._label_scores(X), rtol=0.05, atol=0.02)


def test_compiled_training_step_matches_the_eager_one(blobs):
    X, y = blobs
    eager = ForwardForwardClassifier(**PARAMS).fit(X, y)
    compiled = ForwardForwardClassifier(**{**PARAMS, "compile": True}).fit(X, y)
    np.testing.assert_allclose(compiled.loss_curve_, eager.loss_curve_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        compiled.predict_proba(X), eager.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_auto_precision_is_bfloat16_only_on_cpus_with_bfloat16_units(monkeypatch):
    import ffsk._devices as devices

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(devices, "_cpu_has_bfloat16_units", lambda: True)
    assert devices.resolve_precision("auto", cpu) == "bfloat16"
    assert devices.resolve_precision("auto", cuda) == "float32"
    assert devices.resolve_precision("float32", cpu) == "float32"
    monkeypatch.setattr(devices, "_cpu_has_bfloat16_units", lambda: False)
    assert devices.resolve_precision("auto", cpu) == "float32"
    assert devices.resolve_precision("bfloat16", cpu) == "bfloat16"
