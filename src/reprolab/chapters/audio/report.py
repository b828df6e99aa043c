"""The report part of chapter `audio`: one recording's views, and the CNN's course over its epochs."""

from __future__ import annotations

from reprolab.report.generic import Claim, claims_table
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult, trained_epochs


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
            part.observations.append(f"{r.variant.params['recording']} is not in this copy of the data; "
                                     f"the first recording, {m['recording']}, is shown instead.")
        part.observations.append(
            f"{m['recording']} lasts {m['duration_s']:.3f} s ({m['samples']:,} samples); with a hop of "
            f"{m['hop_length']} samples ({1000 * m['hop_length'] / m['sample_rate']:.0f} ms) its mel "
            f"spectrogram has {m['frames']} frames of {m['n_mels']} bands.")
    part.results = Table(["variant", "file", "digit / speaker / take", "sample rate (Hz)", "duration (s)",
                          "peak amplitude", "n_fft / hop", "mel bands x frames"], rows)


def spectrogram_cnn(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Final and best test accuracy (over epochs 1-N) of each network, and its train/test gap."""
    for name, r in results.items():
        m, history = r.metrics, trained_epochs(r.history)
        peak = history.loc[history["test_acc"].idxmax()]
        part.observations.append(
            f"{name}: test accuracy {m['test_acc']:.2f} % after {int(history['epoch'].iloc[-1])} epochs "
            f"(best {peak['test_acc']:.2f} % at epoch {int(peak['epoch'])}); train accuracy "
            f"{m['train_acc']:.2f} %, a gap of {m['train_acc'] - m['test_acc']:+.2f} points.")
    if "cnn" in results:
        first = results["cnn"].history.loc[results["cnn"].history["epoch"] == 1].iloc[0]
        claim = Claim("After epoch 1 the test accuracy is above the train accuracy («le score est tout de "
                      "même plus élevé pour le Test que pour le Train à l'époque 1»)", "seed 000, ex. 2",
                      f"cnn, epoch 1: test {first['test_acc']:.2f} %, train {first['train_acc']:.2f} % (the "
                      "mean over the epoch's batches, as the model learns)",
                      first["test_acc"] > first["train_acc"])
        part.tables.append(claims_table([claim], ctx, "The seed's statement against our numbers"))


EXPERIMENTS = {"spectrogram_cnn": spectrogram_cnn}
