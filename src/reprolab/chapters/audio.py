"""Chapter `audio`: the views of one recording, and what the CNN's confusion matrix says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from reprolab import figures
from reprolab.data.datasets import fsdd
from reprolab.registry import Variant

MEL_KEYS = ("n_fft", "hop_length", "n_mels")


def recording_figures(variant: Variant, raw_dir: Path, out_dir: Path, mel: dict) -> dict:
    """Waveform, spectrogram and mel spectrogram of the variant's recording (the first one if absent)."""
    import torchaudio

    options = {key: mel.get(key, default) for key, default in
               zip(MEL_KEYS, (fsdd.N_FFT, fsdd.HOP_LENGTH, fsdd.N_MELS), strict=True)}
    with fsdd.recordings(raw_dir) as folder:
        path = fsdd.example_path(folder, variant.params["recording"])
        samples, rate = fsdd.read_wav(path)
    waveform = torch.from_numpy(samples)
    spectrogram = torchaudio.transforms.Spectrogram(n_fft=options["n_fft"], hop_length=options["hop_length"])
    spec_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80)(spectrogram(waveform))
    mel_db = fsdd.log_mel(waveform.unsqueeze(0), **options)[0]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures.audio_views(samples, rate, spec_db.numpy(), mel_db.numpy(), options["hop_length"],
                        out_dir / "recording.png", f"{path.name}: {len(samples) / rate:.2f} s at {rate} Hz")
    digit, speaker, take = fsdd.parse_name(path)
    metrics = {"id": variant.id, "recording": path.name, "digit": digit, "speaker": speaker, "take": take,
               "sample_rate": rate, "samples": len(samples), "duration_s": len(samples) / rate,
               "peak": float(np.abs(samples).max()), "frames": int(mel_db.shape[1]), **options}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _recordings(summary: dict, loaded: dict, results_root: Path) -> None:
    rows = []
    for name, (v, m, _) in loaded.items():
        rows.append({"cells": [name, m["recording"], f"{m['digit']} / {m['speaker']} / {m['take']}",
                               f"{m['sample_rate']:,}", f"{m['duration_s']:.3f}", f"{m['peak']:.3f}",
                               f"{m['n_fft']} / {m['hop_length']}", f"{m['n_mels']} x {m['frames']}"],
                     "verdict": "no reference"})
        summary["figures"].append({
            "path": str(results_root / v.id / "recording.png"),
            "caption": f"{m['recording']}: waveform, spectrogram and mel spectrogram "
                       "(time in s, frequency in Hz)"})
        if m["recording"] != v.params["recording"]:
            summary["observations"].append(f"{v.params['recording']} is not in this copy of the data; "
                                           f"the first recording, {m['recording']}, is shown instead.")
        summary["observations"].append(
            f"{m['recording']} lasts {m['duration_s']:.3f} s ({m['samples']:,} samples); with a hop of "
            f"{m['hop_length']} samples ({1000 * m['hop_length'] / m['sample_rate']:.0f} ms) its mel "
            f"spectrogram has {m['frames']} frames of {m['n_mels']} bands.")
    summary["results"] = {"columns": ["variant", "file", "digit / speaker / take", "sample rate (Hz)",
                                      "duration (s)", "peak amplitude", "n_fft / hop", "mel bands x frames"],
                          "rows": rows}


def confusion_notes(matrix: np.ndarray) -> list[str]:
    """Per-class recall extremes and the most frequent confusion, from a confusion matrix."""
    matrix = np.asarray(matrix)
    recall = 100 * np.diag(matrix) / np.maximum(matrix.sum(1), 1)
    off = matrix - np.diag(np.diag(matrix))
    notes = [f"per-digit test accuracy ranges from {recall.min():.1f} % (digit {recall.argmin()}) "
             f"to {recall.max():.1f} % (digit {recall.argmax()})."]
    if off.sum():
        true, predicted = np.unravel_index(off.argmax(), off.shape)
        notes.append(f"the most frequent confusion is {true} heard as {predicted} ({off.max()} of "
                     f"{matrix[true].sum()} test recordings of {true}); {off.sum()} errors in all.")
    return notes


def _cnn(summary: dict, loaded: dict, figures_dir: Path) -> None:
    for name, (v, m, history) in loaded.items():
        if "confusion" in m:
            path = figures.confusion(m["confusion"], figures_dir / f"{v.experiment}_{name}_confusion.png",
                                     f"{name}: test confusion matrix")
            summary["figures"].append({"path": str(path),
                                       "caption": f"{v.id}: confusion matrix on the test set"})
            summary["observations"] += [f"{name}: {note}" for note in confusion_notes(m["confusion"])]
        if history is not None:
            peak = history.loc[history["test_acc"].idxmax()]
            summary["observations"].append(
                f"{name}: test accuracy {m['test_acc']:.2f} % after {int(history['epoch'].iloc[-1])} epochs "
                f"(best {peak['test_acc']:.2f} % at epoch {int(peak['epoch'])}); train accuracy "
                f"{m['train_acc']:.2f} %, a gap of {m['train_acc'] - m['test_acc']:+.2f} points.")


def summarize(summary: dict, loaded: dict, results_root: Path, figures_dir: Path) -> None:
    """Recording table and figure; confusion matrices and computed observations of the CNN."""
    for exp in summary["experiments"]:
        exp_loaded = loaded[exp["name"]]
        kinds = {v.kind for v, _, _ in exp_loaded.values()}
        if kinds == {"recording_figures"}:
            _recordings(exp, exp_loaded, Path(results_root))
        elif kinds == {"train"}:
            _cnn(exp, exp_loaded, Path(figures_dir))
