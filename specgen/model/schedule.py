"""Star-grouped validation splits and the early-stopping loop every network is trained with."""

from __future__ import annotations

import time
import warnings

import keras
import numpy as np

from specgen.model.config import Schedule

History = dict[str, list[float]]


def split_rows(
    n: int, fraction: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (training rows, validation rows): ``fraction`` of the rows, or of the groups."""
    groups = np.arange(n) if groups is None else np.asarray(groups)
    unique = np.random.default_rng(seed).permutation(np.unique(groups))
    n_val = min(max(round(fraction * unique.size), 1), unique.size - 1) if fraction > 0 else 0
    is_val = np.isin(groups, unique[:n_val])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


class EpochCapWarning(UserWarning):
    """A network stopped by its epoch cap while its validation loss was still improving."""


def fit_with_early_stopping(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    config: Schedule,
    optimizer: str,
    *,
    learning_rate: float | None = None,
    groups: np.ndarray | None,
    progress: bool,
) -> History:
    """Compile with MSE, train with early stopping (and LR decay), return the history per epoch.

    ``learning_rate`` defaults to the schedule's own. When ``config.max_epochs`` ends the training
    before early stopping does, an :class:`EpochCapWarning` says so: the network was still improving."""
    train, val = split_rows(len(x), config.validation_split, config.seed, groups)
    monitor = "val_loss" if val.size else "loss"
    stopping = _EarlyStopping(monitor, config.patience, config.min_improvement)
    callbacks = [stopping]
    if config.lr_decay_factor is not None:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor, factor=config.lr_decay_factor, patience=config.lr_decay_patience, min_lr=1e-6
            )
        )
    clock = _Clock(model.name, monitor, progress)
    rate = config.learning_rate if learning_rate is None else learning_rate
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": rate}})
    model.compile(optimizer=opt, loss="mse")
    passes = (config.min_batches - 1) * config.batch_size // train.size + 1  # the fewest with >= min_batches batches
    rows = np.tile(train, passes)
    fit = model.fit(
        x[rows],
        y[rows],
        validation_data=(x[val], y[val]) if val.size else None,
        batch_size=config.batch_size,
        epochs=config.max_epochs,
        shuffle=True,
        callbacks=[*callbacks, clock],
        verbose=0,
    )
    history = {key: [float(v) for v in values] for key, values in fit.history.items()}
    if stopping.stopped_epoch == 0 and len(history[monitor]) == config.max_epochs:
        best = int(np.argmin(history[monitor])) + 1
        warnings.warn(
            f"{model.name}: the epoch cap of {config.max_epochs} ended training before early stopping "
            f"(best {monitor} at epoch {best}, patience {config.patience}); raise max_epochs",
            EpochCapWarning,
            stacklevel=2,
        )
    return history | {"seconds": clock.seconds}


class _EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping (best weights restored), where a loss counts as a new best only when it is
    below the best by more than ``min_improvement`` of it: once the learning rate has decayed, a loss
    creeping down by 10⁻⁵ an epoch would otherwise keep resetting the patience until the epoch cap."""

    def __init__(self, monitor: str, patience: int, min_improvement: float):
        super().__init__(monitor, patience=patience, restore_best_weights=True)
        self.min_improvement = min_improvement

    def _is_improvement(self, monitor_value, reference_value) -> bool:  # Keras 3's hook (MonitorCallback)
        return reference_value is None or monitor_value < reference_value * (1 - self.min_improvement)


def mean_squared_error(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model.predict_on_batch(x) - y) ** 2))


class _Clock(keras.callbacks.Callback):
    """Seconds per epoch; with ``verbose``, a progress line at most every 10 s and a last one."""

    def __init__(self, name: str, monitor: str, verbose: bool):
        super().__init__()
        self.name, self.monitor, self.verbose = name, monitor, verbose
        self.seconds: list[float] = []
        self._printed = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.seconds.append(now - self._start)
        if self.verbose and now - self._printed > 10:
            self._printed = now
            print(f"{self.name} epoch {epoch + 1}: {self.monitor} {logs[self.monitor]:.3g}", flush=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.verbose:
            print(
                f"{self.name}: {len(self.seconds)} epochs, {np.mean(self.seconds):.2f} s each",
                flush=True,
            )
