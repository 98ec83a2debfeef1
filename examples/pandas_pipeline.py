"""
A pipeline on a pandas DataFrame with mixed columns
===================================================

Numeric columns are scaled, a categorical column is one-hot encoded, and the
result feeds a Forward-Forward classifier, all inside one scikit-learn
``Pipeline``. String labels work as they are.

Run: ``python examples/pandas_pipeline.py``
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ffsk import ForwardForwardClassifier

rng = np.random.RandomState(0)
n = 600
frame = pd.DataFrame(
    {
        "age": rng.randint(18, 80, n),
        "income": rng.lognormal(10, 0.5, n),
        "region": rng.choice(["north", "south", "east", "west"], n),
    }
)
# A label that depends on all three columns.
score = (frame["age"] - 50) / 15 + np.log(frame["income"]) - 10 + (frame["region"] == "south")
labels = np.where(score > 0.5, "buys", np.where(score > -0.5, "maybe", "skips"))

X_train, X_test, y_train, y_test = train_test_split(frame, labels, random_state=0)
model = make_pipeline(
    ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["age", "income"]),
            ("region", OneHotEncoder(), ["region"]),
        ]
    ),
    ForwardForwardClassifier(hidden_layer_sizes=(64, 64), epochs=60, random_state=0),
)
model.fit(X_train, y_train)
print("classes:", model.classes_)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")
print(model.predict(X_test.head(3)))
