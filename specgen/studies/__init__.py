"""Studies over many trained generators: :mod:`.shootout` (emulator kinds on one grid),
:mod:`.sweeps` (papermill over a grid of parameters, on Dask) and :mod:`.learning_curve`
(accuracy against training-set size)."""
