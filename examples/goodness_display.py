"""
Did Forward-Forward learn? The goodness picture
===============================================

Each layer of a Forward-Forward network should give more *goodness* to a
sample with its true label (positive) than with a wrong one (negative).
:class:`ffsk.GoodnessDisplay` draws both distributions per layer;
:class:`ffsk.LossCurveDisplay` draws each layer's local loss per epoch, with
the validation accuracy when early stopping is on.

Run: ``python examples/goodness_display.py`` (the pictures are also saved as
PNG files in the temporary directory, for machines without a display).
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ffsk import ForwardForwardClassifier, GoodnessDisplay, LossCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
clf = ForwardForwardClassifier(
    hidden_layer_sizes=(200, 200), epochs=40, early_stopping=True, random_state=0
).fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f} after {clf.n_iter_} epochs")

# %%
# Positive against negative goodness on the test digits, per layer. The
# "hardest" negative is the wrong label the model scores highest: where the
# positive goodness (summed over layers) beats it, the prediction is right.
goodness = GoodnessDisplay.from_estimator(clf, X_test, y_test, negatives="hardest")
plt.tight_layout()

# %%
# Local loss of each layer, and the validation accuracy of early stopping.
loss_curve = LossCurveDisplay.from_estimator(clf)
plt.tight_layout()

# %%
# Save both pictures (useful without a display), then show them.
folder = Path(tempfile.gettempdir())
for name, display in (("goodness", goodness), ("loss_curve", loss_curve)):
    path = folder / f"ffsk_{name}.png"
    display.figure_.savefig(path, dpi=100)
    print("saved", path)
plt.show()
