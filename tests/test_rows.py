"""ffsk/_rows.py: training rows on the device, or streamed from the host."""

import numpy as np
import scipy.sparse as sp
import torch

from ffsk._rows import TrainingRows, fits_on_device, iter_row_tensors


def test_host_rows_gather_exactly_the_requested_rows(blobs):
    X, _ = blobs
    rows = TrainingRows(X, torch.device("cpu"), keep_on_host=True)
    indices = torch.tensor([5, 0, 17])
    np.testing.assert_array_equal(rows.batch(indices).numpy(), X[[5, 0, 17]].astype(np.float32))
    assert rows.index_device == torch.device("cpu") and not rows.on_device


def test_sparse_rows_are_densified_one_batch_at_a_time(blobs):
    X, _ = blobs
    rows = TrainingRows(sp.csr_matrix(X), torch.device("cpu"))
    assert rows.sparse and not rows.on_device
    batch = rows.batch(torch.tensor([3, 1]))
    np.testing.assert_array_equal(batch.numpy(), X[[3, 1]].astype(np.float32))


def test_data_goes_to_a_gpu_only_when_it_fits(monkeypatch):
    free = 1_000_000
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 4 * free))
    cuda = torch.device("cuda")
    assert fits_on_device(free // 4, cuda)
    assert not fits_on_device(free, cuda)
    assert fits_on_device(10**15, torch.device("cpu"))


def test_row_chunks_cover_every_row_once(blobs):
    X, _ = blobs
    for data in (X, sp.csr_matrix(X)):
        chunks = list(iter_row_tensors(data, 50, torch.device("cpu")))
        assert [len(c) for c in chunks] == [50, 50, 20]
        np.testing.assert_array_equal(torch.cat(chunks).numpy(), X.astype(np.float32))
