"""What every stage runs on: :mod:`.profiles` (sizes), :mod:`.backend` (the Keras backend and
device), :mod:`.parallel` (the Dask client), :mod:`.timing` (speed) and :mod:`.console` (messages)."""
