"""
Saving and loading a model
==========================

``ffsk.save`` writes a file that is never unpickled (weights as arrays, the
rest as JSON, every array checked by its SHA-256 digest); ``ffsk.load`` reads
it back, and training can go on where it stopped. pickle and joblib work too.

Run: ``python examples/persistence.py``
"""

import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import ffsk
from ffsk import ForwardForwardClassifier

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
names = np.array(["setosa", "versicolor", "virginica"])[y]
clf = ForwardForwardClassifier(random_state=0).fit(X, names)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "iris.ffsk"
    ffsk.save(clf, path)
    loaded = ffsk.load(path)
    print(f"saved {path.stat().st_size / 1e6:.1f} MB; classes {loaded.classes_}")
    print("identical probabilities:", np.array_equal(loaded.predict_proba(X), clf.predict_proba(X)))

    # Training continues where it stopped: one more epoch.
    loaded.partial_fit(X, names)
    print("epochs trained:", loaded.n_iter_)

    # A changed byte is caught, and nothing in the file is ever executed.
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    try:
        ffsk.load(path)
    except ffsk.ModelFileError as error:
        print("tampered file refused:", str(error)[:90], "...")

    # pickle/joblib, as for any scikit-learn estimator (trusted files only).
    joblib.dump(clf, Path(folder) / "iris.joblib")
    print("joblib round trip:", joblib.load(Path(folder) / "iris.joblib").score(X, names))
