"""Engine vs the compute limit, for every distinct network of the config's `train` variants (CPU).

For each distinct (dataset, model, model_options, batch size, optimizer, augment, standardize) of
the `train`-kind variants of `config.yaml`, real-format data is made by the dataset's fixture
writer and prepared by its own `prepare` (the on-disk format and dtypes of a real run: uint8 images,
float16 AV-MNIST images, log-mel spectrograms), tiled to about 1.5 s of training. Then, interleaved
in the same process (the order shuffled each round, fixed seed):

- engine: `reprolab.engine.fit` as the `train` job calls it (normaliser, augmentation, per-epoch
  evaluation of a 100-sample test split, history and checkpoint), timed around whole `fit` calls;
- bare: forward/backward/step over one pre-made, already normalised batch: the compute limit;
- fresh: the same bare loop over the whole split's batches, shuffled and gathered by index as any
  loop that reads its data must (the limit plus the memory traffic of a new batch each step);
- classic (the MNIST MLPs only): the per-sample torchvision-style Dataset + DataLoader loop of
  `engine_throughput.py`.

Targets: engine >= 0.9x bare for every network; >= 10x classic for the MLPs.

Usage: python bench/models.py [--threads 1] [--seconds 1] [--repeats 3] [--only cifar_cnn]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_throughput import ClassicMNIST, loader_epochs, measure, step  # noqa: E402

from reprolab.augment import make_augment  # noqa: E402
from reprolab.data.fixtures import write_fixture  # noqa: E402
from reprolab.data.prepare import load_split, prepare_dataset  # noqa: E402
from reprolab.engine import Split, TrainConfig, fit, fit_normalizer, make_optimizer  # noqa: E402
from reprolab.models import build_model  # noqa: E402
from reprolab.registry import variants  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
MLPS = {"logreg", "mlp", "tanh_mlp"}
TARGET_LIMIT, TARGET_CLASSIC = 0.9, 10.0


def networks(config: dict) -> dict[str, dict]:
    """One entry per distinct training setting: a readable name -> the first variant's params."""
    seen: dict[str, dict] = {}
    keys = ("dataset", "model", "model_options", "batch_size", "optimizer", "augment", "standardize")
    fingerprints = set()
    for v in variants(config, kind="train"):
        if v.params.get("task", "classification") != "classification":
            continue
        fp = json.dumps([v.params.get(k) for k in keys], sort_keys=True, default=str)
        if fp not in fingerprints:
            fingerprints.add(fp)
            seen[v.id] = v.params
    return seen


def prepared(dataset: str, folder: Path, options: dict | None) -> tuple[Split, Split]:
    raw, out = folder / "raw" / dataset, folder / "prepared" / dataset
    if not (out / "train.pt").exists():
        raw.mkdir(parents=True, exist_ok=True)
        write_fixture(dataset, raw, 200, 100)
        prepare_dataset(dataset, raw, out, options)
    return Split(**load_split(out, "train")), Split(**load_split(out, "test"))


def tiled(split: Split, n: int) -> Split:
    return split[torch.arange(n) % len(split)]


def bare_batch(params: dict, train: Split):
    """`steps` forward/backward/steps on one pre-made, normalised batch per call."""
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    optimizer = make_optimizer(model, params["optimizer"])
    normalizer = fit_normalizer(train.x, params.get("standardize", False))
    batch = train[: params["batch_size"]]
    with torch.no_grad():
        x = normalizer(batch.x)
    model.train()

    def chunk() -> int:
        for _ in range(4):
            step(model, optimizer, x, batch.y)
        return 4 * len(batch.y)
    return chunk


def bare_fresh(params: dict, train: Split):
    """The bare loop over the split's shuffled batches, gathered by index from the normalised split."""
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    optimizer = make_optimizer(model, params["optimizer"])
    normalizer = fit_normalizer(train.x, params.get("standardize", False))
    with torch.no_grad():
        data = Split(normalizer(train.x), train.y)
    bs = params["batch_size"]
    batches = [torch.randperm(len(data))[b * bs:(b + 1) * bs] for b in range(len(data) // bs)]
    model.train()
    state = {"next": 0}

    def chunk() -> int:
        for _ in range(4):
            batch = data[batches[state["next"] % len(batches)]]
            state["next"] += 1
            step(model, optimizer, batch.x, batch.y)
        return 4 * bs
    return chunk


def engine_fits_loop(params: dict, train: Split, test: Split, seconds: float, loop: list[float]):
    """Whole `fit` calls as the `train` job makes them (normaliser, the variant's augmentation, epoch 0's
    evaluation of the whole training split, per-epoch test evaluation, history, checkpoint), each of as
    many epochs as fill about `seconds`; appends each call's training-loop samples/s (the engine's own
    `train_samples_per_s`: the epochs' batches, without the evaluations and files) to `loop`."""
    epochs = {"n": 1}

    def run() -> int:
        torch.manual_seed(0)
        model = build_model(params["model"], **params.get("model_options", {}))
        normalizer = fit_normalizer(train.x, params.get("standardize", False))
        cfg = TrainConfig(epochs=epochs["n"], batch_size=params["batch_size"], optimizer=params["optimizer"],
                          scheduler=params.get("scheduler"))
        with tempfile.TemporaryDirectory() as out:
            tic = time.perf_counter()
            result = fit(model, train, test, cfg, Path(out), device=CPU, transform=normalizer,
                         augment=make_augment(params.get("augment"), normalizer))
            per_epoch = (time.perf_counter() - tic) / epochs["n"]
        loop.append(result.final["train_samples_per_s"])
        done = epochs["n"] * len(train)
        epochs["n"] = max(1, round(1.1 * seconds / per_epoch))
        return done
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadier when shared)")
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum length of a timed window")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="only the networks whose id or model has this")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/models.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    prepare_options = config.get("data", {}).get("prepare", {})
    rng = random.Random(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s) of {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for vid, params in networks(config).items():
            if args.only and args.only not in vid and args.only not in params["model"]:
                continue
            train, test = prepared(params["dataset"], Path(tmp), prepare_options.get(params["dataset"]))
            bs = params["batch_size"]
            probe = bare_batch(params, tiled(train, bs))
            probe()
            tic = time.perf_counter()
            speed = probe() / (time.perf_counter() - tic)
            n = max(8 * bs, int(1.5 * speed) // bs * bs)  # about 1.5 s of compute per epoch, >= 8 batches
            n = min(n, 20_000)  # the classic loop's epoch stays short
            data = tiled(train, n)
            loop: list[float] = []
            contenders = {"engine": engine_fits_loop(params, data, test[:100], args.seconds, loop),
                          "bare": bare_batch(params, data), "fresh": bare_fresh(params, data)}
            if params["model"] in MLPS and params["dataset"] == "mnist":
                images = data.x[:, 0].numpy()
                contenders["classic"] = loader_epochs(params, ClassicMNIST(images, data.y.numpy()))
            load = os.getloadavg()[0]
            runs = measure(vid, contenders, args.repeats, args.seconds, rng)
            med = {k: statistics.median(v) for k, v in runs.items()}
            runs["loop"] = loop[-len(runs["engine"]):]  # the timed windows' last fit calls
            med["loop"] = statistics.median(loop)
            rows.append({"id": vid, "model": params["model"], "batch": bs, "n_train": n, "load": load,
                         "runs": runs, "median": med})
    print("\n" + table(rows))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2))


def verdict(ratio: float, target: float) -> str:
    return "met" if ratio >= target else f"missed by {100 * (1 - ratio / target):.0f} %"


def table(rows: list[dict]) -> str:
    lines = ["| first variant (model) | batch | bare limit | engine: training loop | loop/limit (>= 0.9x)"
             " | bare, fresh batches | loop/fresh | engine: whole fit | fit/limit | classic loop"
             " | fit/classic (>= 10x) | load |",
             "|" + "---|" * 12]
    for r in rows:
        med = r["median"]
        ratio = med["loop"] / med["bare"]
        fit_ratio = med["engine"] / med["bare"]
        classic = ratio_c = "-"
        if "classic" in med:
            c = med["engine"] / med["classic"]
            classic, ratio_c = f"{med['classic']:,.0f}", f"{c:.1f}x {verdict(c, TARGET_CLASSIC)}"
        lines.append(f"| {r['id']} ({r['model']}) | {r['batch']} | {med['bare']:,.0f} | {med['loop']:,.0f} | "
                     f"{ratio:.2f}x {verdict(ratio, TARGET_LIMIT)} | {med['fresh']:,.0f} | "
                     f"{med['loop'] / med['fresh']:.2f}x | {med['engine']:,.0f} | {fit_ratio:.2f}x | "
                     f"{classic} | {ratio_c} | {r['load']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
