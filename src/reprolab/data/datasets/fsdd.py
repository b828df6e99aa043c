"""Free Spoken Digit Dataset (FSDD): 8 kHz wav recordings -> fixed-width log-mel spectrograms.

The release is GitHub's archive of v1.0.10 (no published checksum: trust on first use). A
pre-staged `recordings/` folder (the archive's content) is accepted instead of the archive.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import tarfile
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reprolab.data.download import extract
from reprolab.data.fixtures import is_fixture
from reprolab.data.sources import RemoteFile
from reprolab.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

VERSION = "1.0.10"
ARCHIVE = f"v{VERSION}.tar.gz"
TOP = f"free-spoken-digit-dataset-{VERSION}"
FILES: tuple[RemoteFile, ...] = (
    RemoteFile(ARCHIVE, (f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{ARCHIVE}",),
               folder="recordings"),
)
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
SAMPLE_RATE = 8000
N_RECORDINGS = 3000
OFFICIAL_TEST_TAKES = 5  # takes 0-4 are the official test set
log = logging.getLogger(__name__)
NAME = re.compile(r"(\d)_([a-z]+)_(\d+)\.wav")
N_FFT, HOP_LENGTH, N_MELS, WIDTH = 256, 64, 40, 128  # defaults of the log-mel preparation


def parse_name(path: Path) -> tuple[int, str, int]:
    """`<digit>_<speaker>_<take>.wav` -> (digit, speaker, take)."""
    match = NAME.fullmatch(Path(path).name)
    if match is None:
        raise DataError(f"{path}: not an FSDD file name (<digit>_<speaker>_<take>.wav)")
    return int(match[1]), match[2], int(match[3])


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples in [-1, 1] (float32) and sample rate of a 16-bit PCM mono wav file."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise DataError(f"{path}: {w.getnchannels()} channel(s) of {8 * w.getsampwidth()} bits; "
                                f"FSDD recordings are 16-bit mono")
            rate, n, frames = w.getframerate(), w.getnframes(), w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise DataError(f"cannot read wav file {path}: {e}; fetch the dataset again") from e
    if len(frames) != 2 * n:
        raise DataError(f"wav file {path} is truncated: {len(frames)} of {2 * n} bytes of samples; "
                        "fetch the dataset again")
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768, rate


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit PCM mono wav file holding `samples` (floats in [-1, 1])."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


@contextlib.contextmanager
def recordings(raw_dir: Path) -> Iterator[Path]:
    """The folder of wav files: the pre-staged `recordings/`, or the archive unpacked in a temp dir."""
    raw_dir = Path(raw_dir)
    if (raw_dir / "recordings").is_dir():
        yield raw_dir / "recordings"
        return
    if not (raw_dir / ARCHIVE).is_file():
        raise DataError(f"{raw_dir} holds neither {ARCHIVE} nor recordings/; run the download step again")
    with tempfile.TemporaryDirectory(dir=raw_dir) as tmp:
        extract(raw_dir / ARCHIVE, Path(tmp))
        found = sorted(Path(tmp).glob("*/recordings"))
        if not found:
            raise DataError(f"{raw_dir / ARCHIVE} has no <top>/recordings/ folder; is it the FSDD release?")
        yield found[0]


def example_path(folder: Path, name: str) -> Path:
    """`folder/name`, or the first recording in name order when there is no such file."""
    path = Path(folder) / name
    return path if path.is_file() else sorted(Path(folder).glob("*.wav"))[0]


def fixed_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Crop the end, or pad with silence, to exactly `length` samples."""
    return np.pad(samples[:length], (0, max(0, length - len(samples))))


def log_mel(waveforms: torch.Tensor, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
            n_mels: int = N_MELS) -> torch.Tensor:
    """Log-mel spectrograms in dB (80 dB dynamic range) of waveforms [N, T] -> [N, n_mels, frames]."""
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=n_fft,
                                               hop_length=hop_length, n_mels=n_mels)
    return torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80)(mel(waveforms))


def split_indices(names: list[tuple[int, str, int]], split: str, test_fraction: float,
                  split_seed: int) -> np.ndarray:
    """Boolean test mask: `seed` (stratified by digit and speaker) or `official` (takes 0-4)."""
    if split == "official":
        return np.array([take < OFFICIAL_TEST_TAKES for _, _, take in names])
    if split != "seed":
        raise ConfigError(f"data.prepare.fsdd.split is {split!r}; use 'seed' or 'official'")
    from sklearn.model_selection import train_test_split

    strata = [f"{digit}_{speaker}" for digit, speaker, _ in names]
    _, test = train_test_split(np.arange(len(names)), test_size=test_fraction, stratify=strata,
                               random_state=split_seed)
    mask = np.zeros(len(names), dtype=bool)
    mask[test] = True
    return mask


def prepare(raw_dir: Path, split: str = "seed", test_fraction: float = 0.25, split_seed: int = 0,
            n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, n_mels: int = N_MELS,
            width: int = WIDTH) -> dict[str, dict[str, torch.Tensor]]:
    """Log-mel spectrograms [N, 1, n_mels, width] (float, dB) and digit labels, train and test.

    Each recording is cropped or padded with silence to `(width - 1) * hop_length` samples, so
    that every spectrogram has `width` frames.
    """
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    with recordings(raw_dir) as folder:
        paths = sorted(folder.glob("*.wav"), key=parse_name)
        if len(paths) != N_RECORDINGS and not is_fixture(raw_dir):
            raise DataError(f"{folder} holds {len(paths)} wav files, FSDD v{VERSION} has {N_RECORDINGS}; "
                            f"delete {raw_dir} and run the download step again")
        length, samples, cropped = (width - 1) * hop_length, [], 0
        for path in paths:
            wave_, rate = read_wav(path)
            if rate != SAMPLE_RATE:
                raise DataError(f"{path} is sampled at {rate} Hz; FSDD recordings are {SAMPLE_RATE} Hz")
            cropped += len(wave_) > length
            samples.append(fixed_length(wave_, length))
    log.info("%d recordings cut or padded to %.3f s; %d were longer and lost their end",
             len(paths), length / SAMPLE_RATE, cropped)
    names = [parse_name(p) for p in paths]
    spectrograms = log_mel(torch.from_numpy(np.stack(samples)), n_fft, hop_length, n_mels).unsqueeze(1)
    labels = torch.tensor([digit for digit, _, _ in names])
    test = torch.from_numpy(split_indices(names, split, test_fraction, split_seed))
    return {"train": {"x": spectrograms[~test].contiguous(), "y": labels[~test]},
            "test": {"x": spectrograms[test].contiguous(), "y": labels[test]}}


def synthetic_digit(digit: int, speaker: int, rng: np.random.Generator) -> np.ndarray:
    """A spoken-digit stand-in: two digit-specific tones, a speaker-specific pitch, a random length."""
    duration = rng.uniform(0.35, 0.8)
    t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 1 + 0.04 * (speaker - 2.5) + rng.normal(0, 0.01)
    low, high = (300 + 60 * digit) * pitch, (1100 + 230 * digit) * pitch
    envelope = np.sin(np.pi * t / duration) ** 2
    tone = np.sin(2 * np.pi * low * t) + 0.6 * np.sin(2 * np.pi * high * t + rng.uniform(0, np.pi))
    return 0.4 * envelope * tone + rng.normal(0, 0.01, len(t))


def write_fixture(dest_dir: Path, n_train: int, n_test: int, rng: np.random.Generator) -> list[Path]:
    """GitHub's archive layout, `<top>/recordings/<digit>_<speaker>_<take>.wav`, 8 kHz 16-bit mono."""
    path = Path(dest_dir) / ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        for i in range(n_train + n_test):
            take, digit, speaker = (i // 60 - 1) % 50, i // 6 % 10, i % 6  # takes 49, 0, 1, ...
            data = wav_bytes(synthetic_digit(digit, speaker, rng))
            info = tarfile.TarInfo(f"{TOP}/recordings/{digit}_{SPEAKERS[speaker]}_{take}.wav")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return [path]
