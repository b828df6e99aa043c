"""Same commit, same machine, same numbers: training in two fresh processes gives identical results.

Each run is a new interpreter, as two Snakemake jobs are, with two torch threads (thread
counts change the reduction order of CPU kernels: `reprolab.job` fixes them per rule).
"""

import json
import subprocess
import sys

import pandas as pd
import torch

from tests.conftest import REPO, toy_cifar

TRAIN_IN_A_FRESH_PROCESS = """
import json, sys, torch
from pathlib import Path
from reprolab import train
from reprolab.registry import Variant
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True, warn_only=True)
params = {"kind": "train", "dataset": "toy", "model": "cifar_cnn", "epochs": 2, "batch_size": 16,
          "model_options": {"input_size": 28, "batchnorm": True, "dropout": 0.5}, "standardize": True,
          "augment": {"crop": 28, "hflip": True}, "validation_size": 16, "keep_best": True,
          "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "clip_grad_norm": 8.0},
          "scheduler": {"name": "exponential", "gamma": 0.95}, "seeds": [0], "device": "cpu"}
metrics = train.run(Variant("c", "e", "v", params), 0, Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps(metrics))
"""


def test_two_fresh_processes_train_to_the_same_bits(tmp_path):
    toy_cifar(tmp_path)
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        done = subprocess.run([sys.executable, "-c", TRAIN_IN_A_FRESH_PROCESS, str(tmp_path), str(out)],
                              capture_output=True, text=True, cwd=REPO, check=True)
        metrics = json.loads(done.stdout.strip().splitlines()[-1])
        weights = torch.load(out / "model.pt", weights_only=True)["state_dict"]
        runs.append((metrics, weights))
    (first, w1), (second, w2) = runs
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "best_epoch", "val_acc"):
        assert first[key] == second[key], key
    assert first["torch_threads"] == 2
    assert all(torch.equal(w1[name], w2[name]) for name in w1)
    h1, h2 = (pd.read_csv(tmp_path / f"run{k}" / "history.csv").drop(columns="seconds") for k in (0, 1))
    pd.testing.assert_frame_equal(h1, h2, check_exact=True)
