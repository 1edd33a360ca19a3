"""The MDRNN: mixture density head (mdn), network (mdrnn), running level, the model folder, and
inference without torch (sampling and the engine, its step compiled: what serve, generate, evaluate and the
study's measures all answer with)."""
