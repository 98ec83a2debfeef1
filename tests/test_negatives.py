"""ffsk/_negatives.py: negative labels are never the true label, random
ones are uniform over the wrong labels, hard ones follow the scores."""

import pytest
import torch

from ffsk._negatives import (
    HardNegatives,
    RandomNegatives,
    hard_wrong_labels,
    negative_sampler,
    random_wrong_labels,
)


def test_random_negatives_are_never_the_true_label_and_cover_all_wrong_ones():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(5).repeat(2000)
    negatives = random_wrong_labels(labels, 5, generator)
    assert not torch.any(negatives == labels)
    for label in range(5):
        drawn = negatives[labels == label]
        counts = torch.bincount(drawn, minlength=5).float()
        wrong = counts[torch.arange(5) != label]
        assert counts[label] == 0
        # uniform over the 4 wrong labels: 500 expected each, sd about 19
        assert torch.all((wrong - 500).abs() < 100)


def test_hard_negatives_never_pick_the_true_label_and_favour_high_scores():
    generator = torch.Generator().manual_seed(0)
    n = 4000
    scores = torch.tensor([[9.0, 3.0, 1.0, 0.0]]).repeat(n, 1)  # label 0 scores highest
    labels = torch.zeros(n, dtype=torch.long)
    drawn = hard_wrong_labels(scores, labels, generator)
    assert not torch.any(drawn == labels)  # never the true label, however high it scores
    freq = torch.bincount(drawn, minlength=4).float() / n
    expected = torch.softmax(torch.tensor([3.0, 1.0, 0.0]), dim=0)
    torch.testing.assert_close(freq[1:], expected, atol=0.03, rtol=0)
    assert freq[1] > freq[2] > freq[3]


def test_hard_negatives_of_rows_with_different_labels_follow_each_rows_scores():
    """Each row's own true label is masked (a mask shifted by one row would
    hand some rows their true label)."""
    generator = torch.Generator().manual_seed(0)
    n, k = 3000, 4
    labels = torch.arange(n) % k
    # Every row scores its own label highest and label (label + 1) % k next.
    scores = torch.zeros(n, k)
    scores[torch.arange(n), labels] = 20.0
    scores[torch.arange(n), (labels + 1) % k] = 10.0
    drawn = hard_wrong_labels(scores, labels, generator)
    assert not torch.any(drawn == labels)
    assert (drawn == (labels + 1) % k).float().mean() > 0.99


def test_non_finite_scores_still_give_wrong_labels():
    generator = torch.Generator().manual_seed(0)
    scores = torch.tensor([[float("nan"), 1.0, float("inf")], [0.0, float("-inf"), 2.0]])
    labels = torch.tensor([1, 2])
    for _ in range(50):
        assert not torch.any(hard_wrong_labels(scores, labels, generator) == labels)


def test_strategies_ask_for_scores_only_when_they_need_them():
    generator = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 1, 2, 0])

    def no_scores():
        raise AssertionError("random negatives must not score the batch")

    drawn = RandomNegatives(3).draw(labels, no_scores, generator)
    assert not torch.any(drawn == labels)
    scores = torch.tensor([[0.0, 9.0, 0.0]] * 4)
    drawn = HardNegatives().draw(torch.tensor([0, 0, 2, 2]), lambda: scores, generator)
    assert torch.equal(drawn, torch.tensor([1, 1, 1, 1]))


def test_the_sampler_is_chosen_by_name():
    assert isinstance(negative_sampler("random", 3), RandomNegatives)
    assert isinstance(negative_sampler("hard", 3), HardNegatives)
    with pytest.raises(ValueError, match="'hard' or 'random'"):
        negative_sampler("easy", 3)


def test_candidates_are_distinct_wrong_labels_covering_all_of_them():
    from ffsk._negatives import wrong_label_candidates

    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(30) % 30
    labels = labels.repeat(200)
    candidates = wrong_label_candidates(labels, 30, 5, generator)
    assert candidates.shape == (6000, 5)
    assert not torch.any(candidates == labels[:, None])
    assert all(len(set(row.tolist())) == 5 for row in candidates[:100])
    counts = torch.bincount(candidates[labels == 0].flatten(), minlength=30)
    assert counts[0] == 0 and torch.all(counts[1:] > 0)


def test_hard_negatives_among_candidates_score_only_the_candidates_and_favour_high_scores():
    generator = torch.Generator().manual_seed(0)
    n, k = 3000, 50
    labels = torch.arange(n) % k
    asked = []

    def scores(candidates=None):
        assert candidates is not None, "with candidates, every label must not be scored"
        asked.append(candidates.shape)
        # label 1 (when it is a candidate) scores far above the others
        return torch.where(candidates == 1, 20.0, 0.0)

    drawn = HardNegatives(k, n_candidates=4).draw(labels, scores, generator)
    assert asked == [(n, 4)]
    assert not torch.any(drawn == labels)
    # label 1 is a candidate of about 4/49 of the rows not labelled 1, and is
    # then nearly always drawn
    share = (drawn == 1).float().mean().item()
    assert 0.06 < share < 0.11
