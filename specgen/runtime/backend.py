"""What Keras computes with: the backend (TensorFlow by default; JAX or PyTorch through
``KERAS_BACKEND``), the device, and exact float32 arithmetic on GPUs."""

from __future__ import annotations

import functools
import os
import platform
from importlib import import_module
from typing import Callable

import numpy as np


def use_exact_float32() -> None:
    """Full float32 matrix products on GPUs instead of TensorFloat-32, which the backends allow by
    default on NVIDIA GPUs since Ampere: with TF32 the generator's spectra on an H200 (JAX backend)
    differed from the CPU's by more than 1e-5; with full float32 they agree within it
    (tests/test_parity.py). No effect on CPUs."""
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
    elif backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
    elif backend == "torch":
        import torch

        torch.set_float32_matmul_precision("highest")


def predictor(model) -> Callable[[np.ndarray], np.ndarray]:
    """``model`` (a Keras model of one input) as a compiled function of a float32 batch of any size,
    returning numpy. Under TensorFlow one traced graph serves every batch size (Keras'
    ``predict_on_batch`` would trace again, with a warning, for each new one); under JAX or PyTorch,
    Keras' own compiled ``predict_on_batch``."""
    if _backend() != "tensorflow":
        return model.predict_on_batch
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]
    # a partial, not a lambda: TensorFlow counts the traces of every lambda made here as retraces of
    # one function and warns after five models, though each model is traced only once
    graph = tf.function(functools.partial(model, training=False), input_signature=signature)
    return lambda x: graph(x).numpy()


def device_name() -> str:
    """Where Keras computes: the first GPU's name (e.g. "NVIDIA H200") under the TensorFlow, JAX or
    PyTorch backend, else the CPU's model and core count."""
    return _gpu_name(_backend()) or f"{_cpu_model()} ({os.cpu_count()} cores)"


def backend_version() -> str:
    """The version of the library behind Keras (TensorFlow, JAX or PyTorch)."""
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(_backend())
    return import_module(module).__version__ if module else "unknown"


def _backend() -> str:
    import keras  # imported on use: the modules that train set TensorFlow's log level first

    return keras.backend.backend()


def _gpu_name(backend: str) -> str | None:
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name) if gpus else None
    if backend == "jax":
        import jax

        gpus = [device for device in jax.devices() if device.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()
