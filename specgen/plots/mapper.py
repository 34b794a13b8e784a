"""Figures of chapter 03 (the mapper from labels to the latent space)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def latent_agreement(encoded: np.ndarray, predicted: np.ndarray) -> Figure:
    """Each latent coordinate: encoder(spectrum) against mapper(labels)."""
    k = encoded.shape[1]
    fig, axes = plt.subplots(2, (k + 1) // 2, figsize=(10, 4.2), layout="constrained")
    for j, ax in enumerate(axes.flat[:k]):
        ax.scatter(encoded[:, j], predicted[:, j], s=3, color="k")
        low, high = np.percentile(np.r_[encoded[:, j], predicted[:, j]], [0, 100])
        ax.plot([low, high], [low, high], color="tab:red", lw=0.6)
        ax.set_title(f"latent {j + 1}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.flat[k:]:
        ax.set_visible(False)
    fig.supxlabel("encoder(spectrum)", fontsize=9)
    fig.supylabel("mapper(labels)", fontsize=9)
    return fig
