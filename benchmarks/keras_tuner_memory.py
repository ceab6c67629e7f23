"""Memory over a long Keras search: RSS growth over N tiny trials, tunesmith.keras_tuner vs KerasTuner.

KerasTuner #395 reports memory that grows with every trial (about 1 GB per 20 trials on a
real model). Each library runs the same RandomSearch (a small dense network on generated
data, one epoch per trial) in its own fresh process; the hypermodel's ``fit`` records the
process's resident set size (VmRSS) before each trial. Reported: RSS at trial 10 (after the
warm-up), at the last trial, and the growth per 20 trials between them.

    KERAS_BACKEND=torch python benchmarks/keras_tuner_memory.py --trials 100 [--width 256] [--markdown-out FILE]

KerasTuner runs when ``import keras_tuner`` works (with h5py for its checkpoints), e.g.
``pip install --target /tmp/ktlib --no-deps keras-tuner==1.4.8 kt-legacy h5py grpcio`` and
``PYTHONPATH=/tmp/ktlib``; otherwise its row says why it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(lib: str, n_trials: int, out: str, width: int) -> None:
    """Run one library's search here and write the per-trial RSS to ``out`` (JSON)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np

    kt: Any
    if lib == "tunesmith":
        import tunesmith.keras_tuner as kt
    else:
        import keras_tuner as kt

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 16)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("int64")
    rss: list[float] = []

    class Net(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            model = keras.Sequential([keras.Input((16,))])
            for i in range(hp.Int("layers", 1, 3)):
                model.add(keras.layers.Dense(hp.Int(f"units_{i}", width // 8, width, step=width // 8),
                                             activation="relu"))
            model.add(keras.layers.Dense(2, activation="softmax"))
            model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log")),
                          "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            rss.append(_rss_mb())
            return model.fit(*args, **kwargs)

    with tempfile.TemporaryDirectory() as d:
        tuner = kt.RandomSearch(Net(), objective="val_accuracy", max_trials=n_trials, directory=d,
                                project_name="mem", overwrite=True, seed=0)
        start = time.perf_counter()
        tuner.search(x, y, epochs=1, batch_size=128, validation_split=0.25, verbose=0)
        seconds = time.perf_counter() - start
        disk = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
    with open(out, "w") as f:
        json.dump({"rss": rss, "seconds": seconds, "disk_mb": disk / 2**20}, f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--libs", default="tunesmith,keras_tuner")
    parser.add_argument("--width", type=int, default=256, help="the widest dense layer a trial may draw")
    parser.add_argument("--markdown-out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.trials, args.out, args.width)
        return
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    rows = ["| library | trials | RSS at trial 10 (MB) | RSS at last trial (MB) | growth per 20 trials (MB) "
            "| files left (MB) | search time (s) | RSS every 10th trial (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for lib in args.libs.split(","):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            path = tmp.name
        proc = subprocess.run([sys.executable, __file__, "--child", lib, "--trials", str(args.trials), "--out", path,
                               "--width", str(args.width)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["failed"])[-1][:120]
            rows.append(f"| {lib} | not run: {why} | | | | | | |")
            continue
        with open(path) as f:
            data = json.load(f)
        os.unlink(path)
        rss = data["rss"]
        warm = rss[min(9, len(rss) - 1)]
        growth = (rss[-1] - warm) / max(1, len(rss) - 10) * 20
        rows.append(f"| {lib} | {len(rss)} | {warm:.0f} | {rss[-1]:.0f} | {growth:+.1f} | {data['disk_mb']:.1f} "
                    f"| {data['seconds']:.1f} | {' '.join(f'{r:.0f}' for r in rss[9::10])} |")
    table = "\n".join(rows)
    print(table)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
