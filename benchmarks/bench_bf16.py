"""bfloat16 against float32 generation of a paper-kind generator, side by side in one process, as JSON.

The generator's dense layers are run as TensorFlow matrix products with their weights cast to each
dtype (batch 4,096, best of 5), with the machine's float32 GEMM rate measured in the same process.
bfloat16 is worth adopting where it is at least 1.5× faster and adds at most 2e-4 to the MAE
(continuum units) against float32; ``mae_against_float32`` is that addition, on the flux.

    python benchmarks/bench_bf16.py --model models/demo/emulator
"""

from __future__ import annotations

import argparse
import json
import timeit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a saved emulator of the paper kind (dense layers only)")
    parser.add_argument("--batch", type=int, default=4096, help="spectra per call (default 4096)")
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from specgen.model.emulator import Emulator
    from specgen.runtime.backend import device_name
    from specgen.runtime.timing import gemm_gflops

    emulator = Emulator.load(args.model)
    layers = _dense_layers(emulator._generator, keras)
    x = tf.constant(np.random.default_rng(0).normal(0, 1, (args.batch, len(emulator.label_names))), tf.float32)
    reference = emulator.network_flux(x).numpy()
    result = {"model": args.model, "batch": args.batch, "device": device_name(), "gemm_gflops": gemm_gflops(),
              "dense_mflop_per_spectrum": emulator.dense_flop_per_spectrum / 1e6}
    for dtype in ("float32", "bfloat16"):
        forward = _forward(layers, getattr(tf, dtype), tf)
        flux = emulator._to_flux(forward(x)).numpy()
        seconds = min(timeit.repeat(lambda: forward(x).numpy(), number=1, repeat=5))
        result[dtype] = {
            "spectra_per_second": args.batch / seconds,
            "fraction_of_gemm": emulator.dense_flop_per_spectrum * args.batch / seconds / 1e9 / result["gemm_gflops"],
            "mae_against_float32": float(np.abs(flux - reference).mean()),
        }
    result["speedup"] = result["bfloat16"]["spectra_per_second"] / result["float32"]["spectra_per_second"]
    result["adopt"] = result["speedup"] >= 1.5 and result["bfloat16"]["mae_against_float32"] <= 2e-4
    print(json.dumps(result, indent=2))


def _dense_layers(model, keras) -> list:
    """The Dense layers of ``model`` and its sub-models, in order; anything else with weights is refused."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            layers += _dense_layers(layer, keras)
        elif isinstance(layer, keras.layers.Dense):
            layers.append(layer)
        elif layer.weights:
            raise SystemExit(f"bench_bf16: {type(layer).__name__} is not a dense layer; give a paper-kind emulator")
    return layers


def _forward(layers: list, dtype, tf):
    """The dense network in ``dtype``, float32 in and out, compiled once."""
    weights = [(tf.constant(layer.kernel.numpy(), dtype), tf.constant(layer.bias.numpy(), dtype)) for layer in layers]
    activations = [layer.activation for layer in layers]

    @tf.function
    def forward(x):
        h = tf.cast(x, dtype)
        for (kernel, bias), activation in zip(weights, activations):
            h = activation(h @ kernel + bias)
        return tf.cast(h, tf.float32)

    return forward


if __name__ == "__main__":
    main()
