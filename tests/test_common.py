"""scikit-learn's own estimator checks: every one must pass."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ffsk import ForwardForwardClassifier


def _small_classifier():
    # Small and fast, but still a real Forward-Forward fit with the default
    # loss and embedding, so accuracy checks (e.g. check_classifiers_train)
    # test actual learning.
    return ForwardForwardClassifier(
        hidden_layer_sizes=(32,), epochs=40, random_state=0, device="cpu"
    )


@parametrize_with_checks([_small_classifier()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
