"""scikit-learn's own estimator checks: all pass but the two sample-weight
equivalence checks, expected failures for mini-batch training."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ffsk import ForwardForwardClassifier

# check_sample_weight_equivalence_on_dense_data (and its sparse twin) asks that a row with weight 2
# train the same model as the row repeated twice. No mini-batch trainer can
# promise that: duplicating a row changes the number of rows, hence which rows
# share a mini-batch, the number of optimiser steps and the random draws
# (shuffles, negative labels). scikit-learn marks both checks as expected
# failures for its own SGDClassifier for the same reason (and runs them on
# MLPClassifier only with its full-batch lbfgs solver). tests/test_sample_weight.py checks
# what weights do promise: weights of 1 change nothing, zero-weight rows are
# ignored, and weights move the decision as they should.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch training: duplicated rows change batches, steps and random draws"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "the same check on sparse input: same mini-batch reason"
    ),
}


def _small_classifier():
    # Small and fast, but still a real Forward-Forward fit with the default
    # loss and embedding, so accuracy checks (e.g. check_classifiers_train)
    # test actual learning.
    return ForwardForwardClassifier(
        hidden_layer_sizes=(32,), epochs=40, random_state=0, device="cpu"
    )


@parametrize_with_checks(
    [_small_classifier()], expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
