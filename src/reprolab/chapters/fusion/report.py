"""The report part of chapter `fusion`: the AV-MNIST data, and size against accuracy of the networks."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from reprolab import figures
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult

UNIMODAL = ("image_lenet5", "audio_lenet")


def samples(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The split sizes, the sample grid and the nearest-mean difficulty of each modality."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        rows.append(Row([name, f"{m['n_train']:,} / {m['n_val']:,} / {m['n_test']:,}",
                         " x ".join(map(str, m["image_shape"])), " x ".join(map(str, m["audio_shape"])),
                         f"{min(m['class_counts']):,} – {max(m['class_counts']):,}",
                         f"{m['image_nearest_mean_acc']:.2f}", f"{m['audio_nearest_mean_acc']:.2f}"],
                        "no reference"))
        part.figures.append(Figure(r.file("samples.png"), "AV-MNIST: images, their spectrograms and labels"))
        easier = "image" if m["image_nearest_mean_acc"] > m["audio_nearest_mean_acc"] else "audio"
        part.observations.append(
            f"A nearest-class-mean classifier reaches {m['image_nearest_mean_acc']:.2f} % on the images and "
            f"{m['audio_nearest_mean_acc']:.2f} % on the spectrograms: the {easier} modality is the easier "
            f"one before any learning.")
    part.results = Table(["variant", "train / validation / test", "image", "spectrogram",
                          "examples per class (train)", "nearest mean, image (%)", "nearest mean, audio (%)"],
                         rows)


def size_notes(models: dict[str, tuple[int, float]]) -> list[str]:
    """Observations on accuracy against size, from {model: (parameters, test accuracy)}."""
    notes = []
    ranked = sorted(models.items(), key=lambda item: item[1][1], reverse=True)
    best, (best_params, best_acc) = ranked[0]
    notes.append(f"{best} tests best at {best_acc:.2f} % with {best_params:,} parameters; "
                 + "; ".join(f"{name} {acc:.2f} % ({params:,})" for name, (params, acc) in ranked[1:]) + ".")
    unimodal = {k: v for k, v in models.items() if k in UNIMODAL}
    if unimodal:
        base, (base_params, base_acc) = max(unimodal.items(), key=lambda item: item[1][1])
        for name, (params, acc) in models.items():
            if name not in UNIMODAL:
                notes.append(f"{name}: {acc - base_acc:+.2f} points against the best unimodal network "
                             f"({base}, {base_acc:.2f} %), with {params / base_params:.2f}x its parameters.")
    front = [name for name, (params, acc) in models.items()
             if not any(p <= params and a > acc or p < params and a >= acc for p, a in models.values())]
    notes.append(f"Pareto-optimal (no other network is both smaller and more accurate): {', '.join(front)}.")
    rho = spearmanr([p for p, _ in models.values()], [a for _, a in models.values()]).statistic
    if len(models) >= 3 and np.isfinite(rho):
        trend = ("accuracy tends to grow with size" if rho > 0.5 else
                 "the larger networks tend to be less accurate" if rho < -0.5 else
                 "size alone does not explain accuracy")
        notes.append(f"Spearman correlation between parameter count and test accuracy: {rho:+.2f}: {trend}.")
    return notes


def models(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Parameters against accuracy: the table, the figure and the discussion."""
    sizes = {name: (int(r.metrics["params"]), r.metrics["test_acc"]) for name, r in results.items()}
    rows = [Row([name, f"{int(m['params']):,}", "—" if m.get("val_acc") is None else f"{m['val_acc']:.2f}",
                 "—" if m.get("best_epoch") is None else f"{m['best_epoch']:g}", f"{m['test_acc']:.2f}",
                 f"{m['test_acc'] / (m['params'] / 1e4):.2f}"], "no reference")
            for name, r in results.items() for m in [r.metrics]]
    part.tables.append(Table(["model", "parameters", "best validation acc. (%)", "best epoch",
                              "test acc. (%)", "test acc. per 10k parameters"], rows,
                             "Parameters and test accuracy (best model on validation)"))
    path = figures.labelled_scatter([p for p, _ in sizes.values()], [a for _, a in sizes.values()],
                                    list(sizes), ctx.figures_dir / "fusion_size_accuracy.png",
                                    "Test accuracy against parameter count", "parameters (log scale)",
                                    "test accuracy (%)", logx=True)
    part.figures.insert(0, Figure(str(path), "The five networks: accuracy against size"))
    part.observations += size_notes(sizes)


EXPERIMENTS = {"models": models}
