"""scikit-learn's bundled breast-cancer data, split (stratified, seeded) and standardized
with the training split's statistics, as float32: shared by the logistic-regression
examples."""

from __future__ import annotations

import numpy as np


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    as32 = [a.astype(np.float32) for a in (x_train, x_test)]
    return as32[0], as32[1], y_train.astype(np.float32), y_test.astype(np.float32)
