"""Labels of spectra by χ² through the generator: :mod:`.chi2` (the fit), :mod:`.observed` (reading
real spectra, velocities), :mod:`.stars` (one star to a catalogue), :mod:`.recovery` (fits and
the estimator side by side against S/N), :mod:`.regions` (residuals in the Ca II cores and
elsewhere), :mod:`.literature` (fitted labels beside published ones) and :mod:`.macroturbulence`
(fits with a fixed macroturbulence: :func:`~.macroturbulence.with_macroturbulence`)."""
