"""Write the reference generator and its spectra that tests/test_parity.py compares against.

    python tests/reference/make_reference.py     # from the repository root, after the ci grids exist

A deliberately small emulator (same layers as Tab. 2-3, narrow) trained on the ci grid, saved to
``tests/reference/generator/``, and its spectra at 16 labels of the ci test grid with the device
that made them in ``tests/reference/generated.npz``. Run it again only when the saved format or
the generator's arithmetic changes on purpose, and say so in the commit.
"""

import platform
from pathlib import Path

import numpy as np

from specgen.grid import read_grid
from specgen.model.config import TrainingConfig
from specgen.model.emulator import Emulator
from specgen.model.train import train_emulator
from specgen.runtime.backend import device_name

HERE = Path(__file__).resolve().parent
CI = HERE.parents[1] / "data" / "ci"


def main() -> None:
    config = TrainingConfig.small_grid(
        latent=10, encoder_hidden=(32, 16), mapper_hidden=(64, 32), batch_size=16, max_epochs=30, seed=0
    )
    emulator = train_emulator(read_grid(CI / "train.h5"), config, fine_tune=False, progress=False)
    emulator.save(HERE / "generator")
    labels = read_grid(CI / "test.h5").labels[:16]
    flux = Emulator.load(HERE / "generator").generate(labels, allow_extrapolation=True)
    np.savez_compressed(
        HERE / "generated.npz", labels=labels, flux=flux, device=device_name(), machine=platform.machine()
    )
    print(f"wrote {HERE / 'generator'} and generated.npz ({flux.shape}, {device_name()})")


if __name__ == "__main__":
    main()
