"""Labels of spectra by χ² through the generator: :mod:`.chi2` (the fit), :mod:`.observed` (reading
real spectra, velocities), :mod:`.stars` (one star to a catalogue) and :mod:`.recovery` (fits and
the estimator side by side against S/N)."""
