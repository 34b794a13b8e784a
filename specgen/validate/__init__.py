"""The paper's proof (Sec. 3.2): a PCA + NN label estimator (:mod:`.estimator`, Tab. 4) recovers
labels as well from generated spectra as from radiative-transfer ones (:mod:`.tab5`, Tab. 5)."""
