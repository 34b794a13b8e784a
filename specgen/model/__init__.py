"""The generator: networks, their training, and the :class:`~specgen.model.emulator.Emulator`.

In the order of the data flow: :mod:`.scaling` and :mod:`.networks` (the paper's Tab. 2–4 builders),
:mod:`.config` and :mod:`.schedule` (recipes, star-grouped splits, early stopping), the three
training stages :mod:`.autoencoder`, :mod:`.mapper` and :mod:`.finetune`, :mod:`.emulator`
(generate, encode, save, load), :mod:`.metrics` and :mod:`.evaluate` (flux errors), :mod:`.train`
(one run from a grid to a saved emulator) and :mod:`.spectra_files` (generated spectra to files).
Importing a module that builds networks loads Keras; this package itself does not.
"""
