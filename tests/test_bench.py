"""The GPU half of the benchmarks, checked on the CPU: `bench/gpu_measure.py` runs the `train` job's
code path and `bench/gpu_budget.py` takes its measured minutes in place of its estimates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import gpu_budget  # noqa: E402


def test_gpu_measure_runs_the_train_code_path_on_any_device(tmp_path):
    out = tmp_path / "gpu_measure.json"
    subprocess.run([sys.executable, str(REPO / "bench/gpu_measure.py"), "--device", "cpu", "--only",
                    "mnist/keras_style/logreg", "--batches", "3", "--out", str(out)], check=True,
                   capture_output=True, cwd=REPO)
    measured = json.loads(out.read_text())
    assert measured["device"] == "cpu" and [r["id"] for r in measured["rows"]] == ["mnist/keras_style/logreg"]
    row = measured["rows"][0]
    assert row["samples_per_s"] > 0 and row["peak_gib"] is None
    # 20 epochs of 60,000 examples and a third of 10,000, at the measured speed
    assert row["minutes"] == pytest.approx(20 * (60_000 + 10_000 / 3) / row["samples_per_s"] / 60)


def test_gpu_budget_uses_what_a_gpu_measured_and_estimates_the_rest(tmp_path, monkeypatch, capsys):
    (tmp_path / "bench/out").mkdir(parents=True)
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    monkeypatch.setattr(gpu_budget, "ROOT", tmp_path)
    estimated = gpu_budget.main()
    assert estimated["measured_on"] is None and estimated["measured_min"] == 0
    measured = {"device": "cuda", "device_name": "NVIDIA H100", "rows": [
        {"id": "cifar/cifar10/baseline", "minutes": 50.0}, {"id": "cifar/cifar10/dropout", "minutes": 25.0}]}
    (tmp_path / "bench/out/gpu_measure.json").write_text(json.dumps(measured))
    mixed = gpu_budget.main()
    assert mixed["measured_on"] == "NVIDIA H100" and mixed["measured_min"] == pytest.approx(75.0)
    cifar = mixed["chapters"]["cifar"]
    assert cifar["measured_s"] == 75.0 * 60 and cifar["seconds"] > estimated["chapters"]["cifar"]["seconds"]
    assert "missed by" in capsys.readouterr().out  # 75 measured minutes: over the 60-minute target
    measured["device"] = "cpu"  # a CPU run of gpu_measure.py measures no GPU
    (tmp_path / "bench/out/gpu_measure.json").write_text(json.dumps(measured))
    assert gpu_budget.main()["measured_on"] is None
