"""IMPSY's side of `benchmarks/versus_impsy.py`: runs under IMPSY's own Python (a scratch
virtualenv with `impsy` from PyPI), never under antiphon's, and imports nothing of antiphon.

Commands (each prints one JSON line on stdout, the last line it writes):

- ``train DATASET.npz EPOCHS OUT_DIR``: ``impsy.train.train_mdrnn`` exactly as ``impsy train``
  runs it (size s, batch 64, sequence 50, 10 % validation, checkpoint every epoch), with a Keras
  callback that times each epoch (validation and checkpoint included) and each batch. Writes the
  TFLite model into OUT_DIR. Prints the epoch seconds, the median batch in milliseconds, the
  number of training windows and the process's peak resident memory (MB).
- ``step MODEL.tflite N``: ``TfliteMDRNN.generate`` (one step and its sampling, what IMPSY's
  interaction loop calls per frame) N times after 200 warm-up steps. Prints microseconds.
- ``serve MODEL.tflite PORT CLIENT_PORT THRESHOLD_S``: IMPSY's interaction server in
  call-and-response mode, OSC in on PORT (``/interface``), answers to CLIENT_PORT (``/impsy``).
  Prints ``ready`` once it listens; runs until killed.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(dataset: str, epochs: int, out_dir: str) -> dict:
    import numpy as np
    import tensorflow as tf
    from impsy.train import train_mdrnn

    class Timer(tf.keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epochs: list[float] = []
            self.batches: list[float] = []

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.epoch_start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.epochs.append(time.perf_counter() - self.epoch_start)

        def on_train_batch_begin(self, batch, logs=None) -> None:
            self.batch_start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None) -> None:
            self.batches.append(time.perf_counter() - self.batch_start)

    timer = Timer()
    output = train_mdrnn(None, dataset, "s", False, 10, epochs, 64, save_location=out_dir, save_model=False, callbacks=[timer])
    history = output["history"].history
    n_batches = len(timer.batches) // max(len(timer.epochs), 1)
    return {
        "epoch_s": timer.epochs,
        "batch_ms_median": float(np.median(timer.batches) * 1000),
        "batches_per_epoch": n_batches,
        "val_loss": [float(v) for v in history.get("val_loss", [])],
        "peak_mb": peak_mb(),
        "tflite": str(output["tflite_file"]),
        "versions": {"tensorflow": tf.__version__, "impsy": _version("impsy")},
    }


def step(tflite: str, n: int) -> dict:
    import numpy as np
    from impsy.mdrnn import TfliteMDRNN

    model = TfliteMDRNN.from_file(Path(tflite))
    model.prepare()
    x = np.full(model.dimension, 0.5, dtype=np.float32)
    for _ in range(200):
        x = model.generate(x)
    times = np.empty(n)
    for i in range(n):
        start = time.perf_counter()
        x = model.generate(x)
        times[i] = time.perf_counter() - start
    return {"step_us": (times * 1e6).tolist()}


def serve(tflite: str, port: int, client_port: int, threshold_s: float) -> None:
    import tempfile

    from impsy.interaction import InteractionServer
    from impsy.mdrnn import introspect_tflite_params

    dimension = introspect_tflite_params(Path(tflite))[0]
    config = {
        "title": "antiphon benchmark peer",
        "log_input": False,
        "log_predictions": False,
        "verbose": False,
        "interaction": {"mode": "callresponse", "threshold": threshold_s, "input_thru": False},
        "model": {"dimension": dimension, "file": tflite, "size": "s", "sigmatemp": 0.01, "pitemp": 1, "timescale": 1},
        "osc": {"server_ip": "127.0.0.1", "server_port": port, "client_ip": "127.0.0.1", "client_port": client_port},
        "webui": {"monitor_port": 0, "command_port": 0},
    }
    server = InteractionServer(config, log_location=tempfile.mkdtemp())
    server.net = None
    print("ready", flush=True)
    server.serve_forever()


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "serve":
        serve(args[0], int(args[1]), int(args[2]), float(args[3]))
        return
    result = train(args[0], int(args[1]), args[2]) if command == "train" else step(args[0], int(args[1]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
