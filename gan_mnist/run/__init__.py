"""One training run and its folder: data, the fit() loop and its callbacks, checkpoints, the run directory's names
and locks, export of the generator, devices, TensorBoard."""
