"""The device a run uses, and what changes on a GPU: cuDNN autotuning, bf16 autocast and channels-last
images."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import torch

from reprolab.engine.data import Inputs
from reprolab.errors import ConfigError


def select_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` fails clearly when there is none."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but no CUDA GPU is visible to this job (no GPU, "
                          "no driver, CUDA_VISIBLE_DEVICES empty, or a CPU-only torch build); set "
                          "device: auto (CUDA when present, else CPU) or device: cpu in config.yaml, "
                          "for the whole run or for the variant")
    if name == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: cuDNN picks its fastest kernels once
    return torch.device(name)


def autocast(device: torch.device):
    """bf16 autocast on CUDA; nothing elsewhere."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16)


def layout(x: Inputs, device: torch.device) -> Inputs:
    """Images [N, C, H, W] in channels-last memory format on CUDA (every modality of dict inputs)."""
    if isinstance(x, dict):
        return {k: layout(v, device) for k, v in x.items()}
    if device.type == "cuda" and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def device_name(device: torch.device) -> str:
    """Human-readable name of the device that ran a job."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"
