"""
UCI Adult: a real mixed-type table with missing values
======================================================

Census rows (6 numeric and 8 categorical columns, ``"?"`` for missing values)
predict whether an income exceeds 50K. A pandas ``ColumnTransformer`` imputes
and scales the numeric columns, imputes and one-hot encodes the categorical
ones, and feeds a Forward-Forward classifier with its defaults: on 32,561
training rows it holds out a tenth of them and stops when their accuracy stops
improving (``early_stopping="auto"``).

The data are read from ``../shared/data/adult`` (or the directory in the
``FFSK_ADULT`` environment variable), the original UCI files. Where they are
absent, the example builds a small synthetic table of the same shape, so it
still shows the pipeline.

Run: ``python examples/adult_pipeline.py``
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ffsk import ForwardForwardClassifier
from ffsk._datasets import ADULT_NUMERIC, load_adult


def synthetic_census(n: int, rng: np.random.RandomState):
    """A stand-in with the same kinds of columns and missing values."""
    frame = pd.DataFrame(
        {
            "age": rng.randint(17, 90, n).astype(float),
            "education-num": rng.randint(1, 17, n).astype(float),
            "hours-per-week": rng.randint(1, 99, n).astype(float),
            "workclass": rng.choice(["Private", "Self-emp", "Gov", None], n),
            "occupation": rng.choice(["Tech", "Sales", "Craft", "Service", None], n),
        }
    )
    score = (frame["age"] - 40) / 12 + (frame["education-num"] - 10) / 3
    score += (frame["hours-per-week"] - 40) / 15 + (frame["occupation"] == "Tech")
    return frame, np.where(score + rng.randn(n) > 1.0, ">50K", "<=50K")


# The example's folder (sphinx-gallery runs examples from there, without __file__).
here = Path(globals().get("__file__", "adult_pipeline.py")).resolve().parent
directory = Path(os.environ.get("FFSK_ADULT", here.parent.parent / "shared" / "data" / "adult"))
if (directory / "adult.data").is_file():
    X_train, X_test, y_train, y_test = load_adult(directory)
    numeric = list(ADULT_NUMERIC)
    print(f"UCI Adult from {directory}")
else:
    rng = np.random.RandomState(0)
    (X_train, y_train), (X_test, y_test) = synthetic_census(4000, rng), synthetic_census(1000, rng)
    numeric = ["age", "education-num", "hours-per-week"]
    print("UCI Adult not found: a synthetic census table of the same kind")
categorical = [column for column in X_train.columns if column not in numeric]
print(f"{len(X_train)} training rows, {X_train.isna().sum().sum()} missing values")

model = make_pipeline(
    ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             numeric),
            ("categorical", make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore"),
            ), categorical),
        ]
    ),
    ForwardForwardClassifier(random_state=0),
)  # fmt: skip
model.fit(X_train, y_train)
classifier = model[-1]
held_out = classifier.best_validation_score_
print(f"epochs run: {classifier.n_iter_}; best held-out accuracy: {held_out}")
print(f"test accuracy: {model.score(X_test, y_test):.4f}")
print(model.predict(X_test.head(3)))
