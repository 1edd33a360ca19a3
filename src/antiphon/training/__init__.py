"""Training: optimizers by name with Keras semantics, pure schedules, windows, the training loop."""
