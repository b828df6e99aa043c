"""The report part of chapter `cifar`: the synthesis of the CIFAR-10 variants, the true parameter count."""

from __future__ import annotations

from torch import nn

from reprolab import figures
from reprolab.models import build_model, count_parameters
from reprolab.report.generic import CHANCE_ACC, Claim, claims_table
from reprolab.report.parts import (
    Context,
    ExperimentPart,
    Figure,
    Reference,
    Row,
    Table,
    VariantResult,
    trained_epochs,
)

# Each variant against the one it improves on (the seed's order of improvements).
LADDER = {"normalized": "baseline", "augmented": "normalized", "augmented_alt": "augmented",
          "momentum_expdecay": "augmented", "momentum_stepdecay": "momentum_expdecay",
          "dropout": "momentum_expdecay", "batchnorm": "dropout"}


def layer_parameters(model: nn.Module) -> dict[str, int]:
    """Weights per layer, named like the seed: conv1, pool1, ..., fc4, fc5 (pooling has none)."""
    counts, index = {}, 0
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            index += 1
            kind = "conv" if isinstance(module, nn.Conv2d) else "fc"
            counts[f"{kind}{index}"] = count_parameters(module)
        elif isinstance(module, nn.BatchNorm2d):
            counts[f"bn{index}"] = count_parameters(module)
        elif isinstance(module, nn.MaxPool2d):
            counts[f"pool{index}"] = count_parameters(module)
    return counts


def network(part: ExperimentPart, reference: Reference | None) -> None:
    """Per-layer parameters of the network (32x32 inputs) against the seed's counts."""
    ours = layer_parameters(build_model("cifar_cnn"))
    seed_layers = reference.layers if reference and reference.layers else {}
    seed_total = int(reference.value) if reference else None
    rows = [Row([name, f"{count:,}", f"{seed_layers[name]:,}" if name in seed_layers else "—",
                 f"{count - seed_layers[name]:+,}" if name in seed_layers else "—"])
            for name, count in ours.items()]
    total = sum(ours.values())
    rows.append(Row(["total", f"{total:,}", f"{seed_total:,}" if seed_total else "—",
                     f"{total - seed_total:+,}" if seed_total else "—"]))
    source = f" ({reference.citation()})" if reference else ""
    part.tables.append(Table(["layer", "ours", "seed", "difference"], rows,
                             "Parameters of the network on 32x32 images, per layer: ours (computed from the "
                             f"built model) and the seed's{source}"))
    if seed_total and seed_total != total:
        pools = sum(v for k, v in seed_layers.items() if k.startswith("pool"))
        fc4 = build_model("cifar_cnn").body[-3]
        part.observations.append(
            f"The network has {total:,} parameters, not the seed's {seed_total:,}: pooling has no weights "
            f"(the seed counted {pools:,} for its three pooling layers), and fc4 maps "
            f"{fc4.in_features:,} inputs to {fc4.out_features:,} units, i.e. {ours['fc4']:,} parameters "
            f"(the seed counted {seed_layers.get('fc4', 0):,}, as if its input were 64).")


def cifar10(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """All test-accuracy curves on one figure, best epochs, each step of the ladder, overfitting.

    Best and lowest are over the trained epochs 1-N: epoch 0 is the model before any update.
    """
    path = figures.overlay({name: r.history for name, r in results.items()}, "test_acc",
                           ctx.figures_dir / "cifar10_test_acc.png",
                           "CIFAR-10: test accuracy of every variant", "test accuracy (%)")
    part.figures.insert(0, Figure(str(path), "All variants: test accuracy per epoch"))
    histories = {name: trained_epochs(r.history) for name, r in results.items()}
    rows = []
    for name, r in results.items():
        m, h = r.metrics, histories[name]
        best = h.loc[h["test_acc"].idxmax()]
        low = h.loc[h["test_loss"].idxmin()]
        rows.append(Row([name, f"{int(m['params']):,}", f"{m['test_acc']:.2f}", f"{best['test_acc']:.2f}",
                         str(int(best["epoch"])), str(int(low["epoch"])),
                         f"{m['train_acc'] - m['test_acc']:+.2f}"]))
    part.tables.append(Table(["variant", "parameters", "final test acc. (%)", "best test acc. (%)",
                              "best epoch", "epoch of lowest test loss", "train − test (points)"], rows,
                             "Final and best test accuracy, epoch of the lowest test loss (epochs 1-N)"))
    for name, before in LADDER.items():
        if name in results and before in results:
            a, b = results[name].metrics["test_acc"], results[before].metrics["test_acc"]
            part.observations.append(f"{name}: {a:.2f} %, {a - b:+.2f} points from {before} ({b:.2f} %).")
    for name, h in histories.items():
        low = int(h["test_loss"].to_numpy().argmin())
        rise = h["test_loss"].iloc[-1] - h["test_loss"].iloc[low]
        if low < len(h) - 1 and rise > 0:
            part.observations.append(
                f"{name}: the test loss is lowest at epoch {int(h['epoch'].iloc[low])} "
                f"({h['test_loss'].iloc[low]:.3f}) and ends {rise:.3f} higher: overfitting.")
    claims = seed_claims(results, histories)
    if table := claims_table(claims, ctx, "The seed's statements against our numbers"):
        part.tables.append(table)
    network(part, ctx.reference("baseline", "params"))


def seed_claims(results: dict[str, VariantResult], histories: dict) -> list[Claim]:
    """Réponses 17 and 18 of seed 004: chance accuracy before training, the baseline's overfitting."""
    claims = []
    initial = {name: r.metrics["initial_acc"] for name, r in results.items() if "initial_acc" in r.metrics}
    if initial:
        claims.append(Claim(
            "At the start of training the network classifies at random, about 1 in 10 («L'erreur au début de "
            "la première époque correspond à l'erreur d'une classification aléatoire [...] au alentours de "
            "1/10=0,1, ce qui est bien le cas»; the seed's «erreur» is the accuracy)",
            "seed 004, TME 5-6, Réponse 17",
            f"test accuracy at epoch 0: {min(initial.values()):.2f} to {max(initial.values()):.2f} % over "
            f"{len(initial)} variant(s)", all(abs(acc - 10) <= CHANCE_ACC for acc in initial.values())))
    if "baseline" in histories:
        h = histories["baseline"]
        low = int(h["test_loss"].to_numpy().argmin())
        claims.append(Claim(
            "The baseline overfits: the loss falls, then rises from epoch 12 («la loss diminue puis augmente "
            "à partir de l'époque 12»; the seed writes «en train» but describes the test curve)",
            "seed 004, TME 5-6, Réponse 18",
            f"baseline: test loss lowest at epoch {int(h['epoch'].iloc[low])} of {int(h['epoch'].iloc[-1])} "
            f"({h['test_loss'].iloc[low]:.3f}), final {h['test_loss'].iloc[-1]:.3f}",
            low < len(h) - 1 and h["test_loss"].iloc[-1] > h["test_loss"].iloc[low]))
    return claims


EXPERIMENTS = {"cifar10": cifar10}
