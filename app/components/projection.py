"""2-D maps of high-dimensional vectors for display (t-SNE or UMAP).

Columns are z-scored (raw signals, features and embeddings have very different scales per
column) and reduced to at most 50 principal components first, the usual preparation that
keeps t-SNE/UMAP fast and less noisy. This is visualisation only: nothing downstream reads it.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler

METHODS = ("t-SNE", "UMAP")
_PCA_DIMS = 50


def project_2d(matrix: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """``(n, d)`` -> ``(n, 2)`` with ``method`` in ``METHODS``; needs at least 5 rows."""
    if len(matrix) < 5:
        raise ValueError(f"a 2-D map needs at least 5 windows, got {len(matrix)}")
    x = StandardScaler().fit_transform(np.asarray(matrix, dtype=np.float64))
    dims = min(_PCA_DIMS, x.shape[0] - 1, x.shape[1])
    x = PCA(n_components=dims, random_state=seed).fit_transform(x)
    if method == "UMAP":
        import umap  # imported on demand: it compiles with numba on first import (seconds)

        return umap.UMAP(n_neighbors=min(15, len(x) - 1), random_state=seed).fit_transform(x)
    perplexity = float(min(30, (len(x) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
