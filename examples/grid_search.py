"""
Grid search over threshold, layers and epochs
=============================================

A grid search over the goodness threshold, the layer sizes and the epochs.
``threshold`` is the parameter of the threshold loss, so the search uses
``loss="threshold"``; a second grid compares it with the default SymBa loss.

Run: ``python examples/grid_search.py``
"""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ffsk import ForwardForwardClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(StandardScaler(), ForwardForwardClassifier(random_state=0))
grid = [
    {
        "forwardforwardclassifier__loss": ["threshold"],
        "forwardforwardclassifier__threshold": [0.5, 2.0],
        "forwardforwardclassifier__hidden_layer_sizes": [(64,), (64, 64)],
        "forwardforwardclassifier__epochs": [20, 60],
    },
    {
        "forwardforwardclassifier__loss": ["symba"],
        "forwardforwardclassifier__hidden_layer_sizes": [(64,), (64, 64)],
        "forwardforwardclassifier__epochs": [20, 60],
    },
]
search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.4f}")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}")
