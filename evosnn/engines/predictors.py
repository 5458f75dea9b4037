"""Predictors of an objective from genes, chosen among a few scikit-learn models by Kendall tau.

Features mask inert genes, so two genomes of one subnet get one prediction:

* one-hot: one column per (gene, choice), all zero for an inert gene (a block that is absent
  contributes nothing: an additive model per choice);
* ordinal: every gene's index scaled to [0, 1], ``-1`` for an inert gene (trees split on it).

Model kinds: ``ridge`` (ridge regression on one-hot, its penalty by generalised cross-validation),
``forest`` (random forest on ordinal), ``boosting`` (gradient-boosted trees on ordinal) and ``knn``
(distance-weighted nearest neighbours on one-hot). :func:`fit_predictor` scores each kind by the
Kendall tau between the targets and their out-of-fold predictions (the search only needs the
ranking right) and refits the best on all data. Everything is seeded; no parallel jobs.

Example (from the repository root):
    >>> import numpy as np
    >>> from evosnn.core.genome import GenomeCodec
    >>> from evosnn.core.space import load_space
    >>> codec = GenomeCodec(load_space("search_spaces/digits-tiny.yaml"))
    >>> X = np.random.default_rng(0).integers(np.array(codec.bounds()[1]) + 1, size=(60, 11))
    >>> fitted = fit_predictor(GeneFeatures(codec), X, X[:, 1] + 0.5 * X[:, 2], seed=0)
    >>> fitted.tau > 0.9
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import kendalltau
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor

from evosnn.core.genome import GenomeCodec

__all__ = ["MODEL_KINDS", "FittedPredictor", "GeneFeatures", "fit_predictor", "kendall_tau"]

#: Model kinds :func:`fit_predictor` chooses among, and the features each one reads.
MODEL_KINDS = ("ridge", "forest", "boosting", "knn")
_FEATURES = {"ridge": "onehot", "forest": "ordinal", "boosting": "ordinal", "knn": "onehot"}


class GeneFeatures:
    """Turns genomes (rows of choice indices) into features with inert genes masked."""

    def __init__(self, codec: GenomeCodec) -> None:
        self.codec = codec
        self.upper = np.array(codec.bounds()[1], dtype=np.int64)
        self.offsets = np.r_[0, np.cumsum(self.upper + 1)[:-1]]
        self.width = int((self.upper + 1).sum())
        self.depths = np.array(codec.space.choices.depth, dtype=np.int64)

    def active(self, X: np.ndarray) -> np.ndarray:
        """Boolean mask of the active genes of every row."""
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        n_active = self.codec.active_length(0) + self.depths[X[:, 0]] * len(self.codec.block_genes)
        mask: np.ndarray = np.arange(X.shape[1])[None, :] < n_active[:, None]
        return mask

    def onehot(self, X: np.ndarray) -> np.ndarray:
        """One column per (gene, choice); inert genes all zero."""
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        out = np.zeros((len(X), self.width))
        rows, genes = np.nonzero(self.active(X))
        out[rows, self.offsets[genes] + X[rows, genes]] = 1.0
        return out

    def ordinal(self, X: np.ndarray) -> np.ndarray:
        """Every gene's index in [0, 1]; ``-1`` where inert."""
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        scaled = X / np.maximum(self.upper, 1)
        return np.where(self.active(X), scaled, -1.0)

    def of(self, kind: str, X: np.ndarray) -> np.ndarray:
        """The features model ``kind`` reads."""
        return self.onehot(X) if _FEATURES[kind] == "onehot" else self.ordinal(X)


def _model(kind: str, n: int, seed: int) -> Any:
    if kind == "ridge":
        return RidgeCV(alphas=np.logspace(-3, 2, 11))
    if kind == "forest":
        return RandomForestRegressor(n_estimators=32, max_features=0.5, random_state=seed)
    if kind == "boosting":
        return GradientBoostingRegressor(
            n_estimators=60, max_depth=3, learning_rate=0.15, subsample=0.8, random_state=seed
        )
    if kind == "knn":
        return KNeighborsRegressor(n_neighbors=max(1, min(5, n - 1)), weights="distance")
    raise ValueError(f"unknown model kind {kind!r}; choose among {', '.join(MODEL_KINDS)}")


@dataclass
class FittedPredictor:
    """A model fitted on all data, with every kind's cross-validated Kendall tau.

    Attributes:
        kind: the chosen model kind.
        tau: its cross-validated Kendall tau (None when there were too few points to validate).
        taus: every scored kind's tau.
        resid_sd: the chosen kind's out-of-fold RMS error (None when not validated).
    """

    kind: str
    tau: float | None
    features: GeneFeatures
    model: Any
    taus: dict[str, float] = field(default_factory=dict)
    resid_sd: float | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for genomes ``X`` (rows of choice indices)."""
        return np.asarray(self.model.predict(self.features.of(self.kind, X)), dtype=float)


def kendall_tau(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Kendall's tau-b between two rankings (0 when undefined, e.g. a constant sequence)."""
    tau = kendalltau(a, b).statistic
    return 0.0 if tau is None or math.isnan(tau) else float(tau)


def fit_predictor(
    features: GeneFeatures,
    X: np.ndarray,
    y: np.ndarray,
    *,
    kinds: Sequence[str] = MODEL_KINDS,
    folds: int = 5,
    seed: int = 0,
    min_points: int = 8,
    validate: bool = True,
) -> FittedPredictor:
    """The kind with the best out-of-fold Kendall tau over ``folds`` folds, refitted on all data.

    Without ``validate``, or with fewer than ``min_points`` points, the first kind is fitted
    without validation (``tau`` None).
    """
    X, y = np.asarray(X, dtype=np.int64), np.asarray(y, dtype=float)
    n = len(y)
    taus: dict[str, float] = {}
    resid: dict[str, float] = {}
    if validate and n >= min_points:
        split = KFold(n_splits=min(folds, n // 2), shuffle=True, random_state=seed)
        for kind in kinds:
            oof = cross_val_predict(_model(kind, n, seed), features.of(kind, X), y, cv=split)
            taus[kind] = kendall_tau(y, oof)
            resid[kind] = float(np.sqrt(np.mean((y - oof) ** 2)))
        best = max(kinds, key=lambda k: (taus[k], -list(kinds).index(k)))
        tau: float | None = taus[best]
    else:
        best, tau = kinds[0], None
    model = _model(best, n, seed).fit(features.of(best, X), y)
    return FittedPredictor(
        kind=best, tau=tau, features=features, model=model, taus=taus, resid_sd=resid.get(best)
    )
