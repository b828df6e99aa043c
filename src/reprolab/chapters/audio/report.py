"""The report part of chapter `audio`: one recording's views, the CNN's course over its epochs, the
questions of seed 000 ex. 2 answered from the built networks and the histories, the discussion.

Every number is computed: the spectrogram's size from the prepared data (`input_shape`), the layers'
outputs and parameters from the networks as the variants build them, the rest from the results.
"""

from __future__ import annotations

import inspect
import math

from reprolab.models.audio import audio_cnn
from reprolab.report import questions
from reprolab.report.parts import (
    NOT_ENOUGH_EPOCHS,
    ChapterPart,
    Context,
    ExperimentPart,
    Figure,
    Question,
    Row,
    Table,
    VariantResult,
    enough_epochs,
    fmt,
    trained_epochs,
)

SOURCE = "seed 000, ex. 2"
_DEFAULTS = inspect.signature(audio_cnn).parameters
# One spectrogram's shape when the metrics predate `input_shape`: the network's own defaults.
SPECTROGRAM = [1, _DEFAULTS["n_mels"].default, _DEFAULTS["width"].default]


def recordings(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The recording's facts as a table, its figure, and the spectrogram's size in words."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        rows.append(Row([name, m["recording"], f"{m['digit']} / {m['speaker']} / {m['take']}",
                         f"{m['sample_rate']:,}", f"{m['duration_s']:.3f}", f"{m['peak']:.3f}",
                         f"{m['n_fft']} / {m['hop_length']}", f"{m['n_mels']} x {m['frames']}"],
                        "no reference"))
        part.figures.append(Figure(r.file("recording.png"), f"{m['recording']}: waveform, spectrogram and "
                                                            "mel spectrogram (time in s, frequency in Hz)"))
        if m["recording"] != r.variant.params["recording"]:
            part.observations.append(f"{r.variant.params['recording']} is not in this copy of the data; the "
                                     f"first recording, {m['recording']}, is shown instead.")
        part.observations.append(
            f"{m['recording']} lasts {m['duration_s']:.3f} s ({m['samples']:,} samples); with a hop of "
            f"{m['hop_length']} samples ({1000 * m['hop_length'] / m['sample_rate']:.0f} ms) its mel "
            f"spectrogram has {m['frames']} frames of {m['n_mels']} bands.")
    part.results = Table(["variant", "file", "digit / speaker / take", "sample rate (Hz)", "duration (s)",
                          "peak amplitude", "n_fft / hop", "mel bands x frames"], rows)


def spectrogram_shape(r: VariantResult) -> list[int]:
    options = r.variant.params.get("model_options", {})
    return r.metrics.get("input_shape") or [1, options.get("n_mels", SPECTROGRAM[1]),
                                            options.get("width", SPECTROGRAM[2])]


def anatomy(r: VariantResult) -> dict:
    """The network of a variant: its layers, the convolutions' output, the linear layer's share."""
    walked = questions.network_layers(r, spectrogram_shape(r))
    linear = [layer for layer in walked if layer.kind == "Linear"]
    convs = [layer for layer in walked if layer.kind == "Conv2d"]
    maps = [layer for layer in walked if layer.kind in ("Conv2d", "MaxPool2d")]
    total = sum(layer.params for layer in walked)
    return {"layers": walked, "maps": maps, "last_map": maps[-1].output_shape if maps else None,
            "conv_params": sum(layer.params for layer in convs),
            "linear_params": sum(layer.params for layer in linear),
            "total": total, "n_convs": len(convs)}


def network_question(results: dict[str, VariantResult]) -> Question | None:
    """The seed's network: the spectrogram's size, each layer's output, where the parameters are."""
    trained = {n: r for n, r in results.items() if r.variant.params.get("model")}
    if not trained:
        return None
    rows, texts = [], []
    for name, r in trained.items():
        a = anatomy(r)
        n_train = r.metrics.get("n_train")
        into = math.prod(a["last_map"]) if a["last_map"] else None
        rows.append(Row([name, questions.shape_text(spectrogram_shape(r)),
                         " → ".join(questions.shape_text(m.output_shape) for m in a["maps"]),
                         fmt(into), fmt(a["conv_params"]), fmt(a["linear_params"]),
                         f"{100 * a['linear_params'] / a['total']:.1f}", fmt(a["total"]),
                         f"{a['total'] / n_train:,.0f}" if n_train else "—"]))
        texts.append(f"{name}: {' → '.join(questions.shape_text(m.output_shape) for m in a['maps'])}, "
                     f"{into:,} values into the linear layer, {a['total']:,} parameters of which "
                     f"{a['linear_params']:,} ({100 * a['linear_params'] / a['total']:.1f} %) in the linear "
                     "layer")
    first = next(iter(trained.values()))
    shape = spectrogram_shape(first)
    answer = (f"Each recording is one log-mel spectrogram of {shape[-2]} mel bands × {shape[-1]} frames "
              f"({questions.shape_text(shape)} with its channel). The 3×3 convolutions with padding 1 keep "
              "that size; only pooling shrinks it. " + "; ".join(texts)
              + ". Without pooling nearly all the weights sit in the one linear layer, which sees every "
              "time-frequency position separately.")
    if len(trained) > 1:
        sizes = {n: anatomy(r)["total"] for n, r in trained.items()}
        big, small = max(sizes, key=sizes.get), min(sizes, key=sizes.get)
        answer += f" {small} has {sizes[big] / sizes[small]:.1f} times fewer parameters than {big}."
    table = Table(["variant", "spectrogram", "convolution and pooling outputs",
                   "values into the linear layer", "convolution parameters", "linear parameters",
                   "share in the linear layer (%)", "parameters", "parameters per training recording"], rows,
                  "The networks on one spectrogram (computed from the built models)")
    return Question("Ils décrivent un modèle CNN avec deux couches de convolution puis une couche de ReLU "
                    "après chaque convolution et une couche linéaire.", SOURCE, answer, [table])


def split_question(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """The split (750 test recordings) and the parameters against the training examples."""
    trained = {n: r for n, r in results.items() if r.metrics.get("n_train")}
    if not trained:
        return None
    first = next(iter(trained.values())).metrics
    n_train, n_test = int(first["n_train"]), int(first["n_test"])
    answer = (f"Ours: {n_train:,} training and {n_test:,} test recordings "
              f"({100 * n_test / (n_train + n_test):.0f} % for test). ")
    answer += "; ".join(f"{name} has {int(r.metrics['params']):,} parameters, "
                        f"{r.metrics['params'] / n_train:,.0f} per training recording"
                        for name, r in trained.items() if r.metrics.get("params")) + ". "
    judged = {n: r for n, r in trained.items() if enough_epochs(r.history, ctx.smoke)}
    gaps = "; ".join(f"{n} {r.metrics['train_acc']:.2f} % train, {r.metrics['test_acc']:.2f} % test"
                     for n, r in trained.items() if "train_acc" in r.metrics)
    if judged and len(judged) == len(trained):
        answer += ("More training data helps, but it does not by itself make the model generalise: at the "
                   f"end, {gaps}.")
    else:
        answer += f"Whether the model generalises: {NOT_ENOUGH_EPOCHS} ({gaps})."
    return Question("Le CSV test comporte 750 échantillons, celui de train comporte le reste des "
                    "échantillons. Il y a bien plus de données dans le jeu de train ce qui permet de bien "
                    "généraliser par la suite",
                    SOURCE, answer + (questions.SMOKE_NOTE if ctx.smoke else ""))


def epoch_one_question(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """The seed's «plus élevé pour le Test que pour le Train à l'époque 1», and its losses."""
    question = questions.epoch_one(
        results, ctx,
        "Sur ce graphique, on voit que pour les losses de Train sont très faibles quel que soit l'époque "
        "contrairement à ceux de Test mais le score est tout de même plus élevé pour le Test que pour le "
        "Train à l'époque 1. Malgré une différence de losses, le score reste similaire pour les deux jeux "
        "après la première époque.", SOURCE)
    if question is None:
        return None
    notes = []
    for name, r in results.items():
        columns = {"train_loss", "test_loss", "train_acc", "test_acc"}
        if r.history is None or not columns <= set(r.history.columns):
            continue
        h = trained_epochs(r.history)
        first, last = h.iloc[0], h.iloc[-1]
        notes.append(f"{name}, epoch 1: test {first['test_acc']:.2f} % against train "
                     f"{first['train_acc']:.2f} % "
                     + ("(test above train, as the seed saw); " if first["test_acc"] > first["train_acc"]
                        else "(test not above train, unlike the seed); ")
                     + f"losses train {first['train_loss']:.3f}, test {first['test_loss']:.3f}; at epoch "
                     f"{int(last['epoch'])}: train / test accuracy {last['train_acc']:.2f} / "
                     f"{last['test_acc']:.2f} %, loss {last['train_loss']:.3f} / {last['test_loss']:.3f}")
    if notes:
        question.answer = "; ".join(notes) + ". " + question.answer
    return question


def spectrogram_cnn(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Final and best test accuracy (over epochs 1-N) of each network, its train/test gap, the questions."""
    for name, r in results.items():
        m, history = r.metrics, trained_epochs(r.history)
        peak = history.loc[history["test_acc"].idxmax()]
        part.observations.append(
            f"{name}: test accuracy {m['test_acc']:.2f} % after {int(history['epoch'].iloc[-1])} epochs "
            f"(best {peak['test_acc']:.2f} % at epoch {int(peak['epoch'])}); train accuracy "
            f"{m['train_acc']:.2f} %, a gap of {m['train_acc'] - m['test_acc']:+.2f} points.")
    found = [network_question(results), split_question(results, ctx), epoch_one_question(results, ctx)]
    part.questions += [q for q in found if q is not None]


EXPERIMENTS = {"spectrogram_cnn": spectrogram_cnn}


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """The networks against chance and each other, the seed's epoch-1 statement, fitting; the conclusion."""
    smoke = summary.scale == "smoke"
    trained = results.get("spectrogram_cnn", {})
    if not trained:
        return
    accs = {n: r.metrics["test_acc"] for n, r in trained.items() if r.metrics.get("test_acc") is not None}
    sizes = {n: int(r.metrics["params"]) for n, r in trained.items() if r.metrics.get("params")}
    text = (f"Chance with 10 spoken digits is 10 % (a loss of ln 10 = {math.log(10):.3f}). "
            + "; ".join(f"{n} reaches {a:.2f} % test accuracy with {sizes.get(n, 0):,} parameters"
                        for n, a in accs.items()) + ".")
    if "cnn" in accs and "cnn_pooled" in accs and sizes.get("cnn_pooled"):
        d = accs["cnn_pooled"] - accs["cnn"]
        text += (" Pooling after each convolution (ours; the seed has none) divides the parameters by "
                 f"{sizes['cnn'] / sizes['cnn_pooled']:.1f} and changes the test accuracy by {d:+.2f} points"
                 + (": the seed's network spends most of its weights on a linear layer that pooling makes "
                    "unnecessary." if d >= -1 and not smoke else "."))
    summary.discussion.append(text)
    if "cnn" in trained and trained["cnn"].history is not None:
        h = trained_epochs(trained["cnn"].history)
        first = h.iloc[0]
        above = first["test_acc"] > first["train_acc"]
        summary.discussion.append(
            "The seed found the test accuracy above the train accuracy after epoch 1; for cnn: test "
            f"{first['test_acc']:.2f} %, train {first['train_acc']:.2f} %"
            + (" (not judged at smoke scale)." if smoke else
               "; we agree: the train accuracy is a mean over an epoch in which the network is still "
               "learning."
               if above else "; we do not see it here."))
    judged = {n: questions.test_loss_course(r.history) for n, r in trained.items()
              if enough_epochs(r.history, smoke)}
    if smoke or len(judged) < len(trained):
        summary.discussion.append(f"Over- or under-fitting: {NOT_ENOUGH_EPOCHS} "
                                  + ("at smoke scale." if smoke else "with fewer than 5 trained epochs."))
    else:
        notes = []
        for name, (epoch, lowest, final, rises) in judged.items():
            m = trained[name].metrics
            notes.append(f"{name} ends {m['train_acc'] - m['test_acc']:+.2f} points above its test accuracy "
                         f"on train, test loss lowest at epoch {epoch} ({lowest:.3f}, final {final:.3f})"
                         + ("; the test loss rises: it overfits" if rises else ""))
        summary.discussion.append("; ".join(notes) + ".")
    if smoke:
        summary.discussion.append("At smoke scale the recordings are synthetic and the training lasts a few "
                                  "epochs: the accuracies say nothing about the networks.")
    if accs:
        best = max(accs, key=accs.get)
        summary.conclusion.append(f"The best network, {best}, recognises {accs[best]:.2f} % of the test "
                                  "digits from their mel spectrograms (chance 10 %).")
    if "cnn" in sizes:
        a = anatomy(trained["cnn"])
        summary.conclusion.append(f"The seed's CNN has {a['total']:,} parameters, "
                                  f"{100 * a['linear_params'] / a['total']:.1f} % of them in its linear "
                                  "layer.")
    if smoke:
        summary.conclusion.append(f"Over- and under-fitting: {NOT_ENOUGH_EPOCHS} at smoke scale.")
