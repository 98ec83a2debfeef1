"""
Quickstart on the digits
========================

Fit a Forward-Forward classifier on scikit-learn's 8x8 digits, on its own and
as the last step of a pipeline.

Run: ``python examples/quickstart.py``
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from ffsk import ForwardForwardClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

# Used on its own ...
clf = ForwardForwardClassifier(random_state=0)
clf.fit(X_train / 16.0, y_train)
print(f"accuracy: {clf.score(X_test / 16.0, y_test):.4f}")
print("probabilities of the first test digit:", clf.predict_proba(X_test[:1] / 16.0).round(3))

# ... or as the last step of a pipeline.
pipe = make_pipeline(MinMaxScaler(), ForwardForwardClassifier(epochs=30, random_state=0))
pipe.fit(X_train, y_train)
print(f"pipeline accuracy (30 epochs): {pipe.score(X_test, y_test):.4f}")
