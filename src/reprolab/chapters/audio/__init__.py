"""Chapter `audio`: spoken digits as mel spectrograms (seed 000 ex. 2).

The CNN uses the core `train` kind. Kind `recording_figures`: waveform, spectrogram and mel
spectrogram of one recording, read from the raw release with the preparation's mel settings.
"""

from reprolab import paths
from reprolab.kinds import Kind, register
from reprolab.registry import Variant


def raw_release(variant: Variant, config: dict) -> dict[str, str]:
    return {"manifest": paths.raw_manifest(config["data"]["root"], variant.params["dataset"])}


def mel_settings(variant: Variant, config: dict) -> dict:
    return (config["data"].get("prepare") or {}).get(variant.params["dataset"], {})


register(Kind("recording_figures", job="reprolab.chapters.audio.jobs:recording_figures",
              outputs=("metrics.json", "recording.png"), inputs=raw_release, options=mel_settings,
              summarize="reprolab.chapters.audio.report:recordings"))
