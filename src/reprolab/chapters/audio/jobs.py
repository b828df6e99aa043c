"""The job of chapter `audio`'s kind `recording_figures`: the views of one recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from reprolab import figures
from reprolab.atomic import write_json
from reprolab.data.datasets import fsdd
from reprolab.kinds import Job

MEL_KEYS = ("n_fft", "hop_length", "n_mels")


def recording_figures(job: Job) -> dict:
    """Waveform, spectrogram and mel spectrogram of the variant's recording (the first one if absent)."""
    import torchaudio

    variant, mel, raw_dir = job.variant, job.options, Path(job.inputs["manifest"]).parent
    options = {key: mel.get(key, default) for key, default in
               zip(MEL_KEYS, (fsdd.N_FFT, fsdd.HOP_LENGTH, fsdd.N_MELS), strict=True)}
    with fsdd.recordings(raw_dir) as folder:
        path = fsdd.example_path(folder, variant.params["recording"])
        samples, rate = fsdd.read_wav(path)
    waveform = torch.from_numpy(samples)
    spectrogram = torchaudio.transforms.Spectrogram(n_fft=options["n_fft"], hop_length=options["hop_length"])
    spec_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80)(spectrogram(waveform))
    mel_db = fsdd.log_mel(waveform.unsqueeze(0), **options)[0]
    figures.audio_views(samples, rate, spec_db.numpy(), mel_db.numpy(), options["hop_length"],
                        job.outputs["recording"], f"{path.name}: {len(samples) / rate:.2f} s at {rate} Hz")
    digit, speaker, take = fsdd.parse_name(path)
    metrics = {"id": variant.id, "recording": path.name, "digit": digit, "speaker": speaker, "take": take,
               "sample_rate": rate, "samples": len(samples), "duration_s": len(samples) / rate,
               "peak": float(np.abs(samples).max()), "frames": int(mel_db.shape[1]), **options}
    write_json(job.outputs["metrics"], metrics)
    return metrics
