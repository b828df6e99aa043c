"""The ImageNet network a variant uses (chapters `transfer` and `visualization`): which one, the
inputs its jobs read, where its weights come from, and the network itself.

Light at import (no torch): the chapters' `__init__` modules, which the Snakefile reads, use
`pretrained_inputs`.
"""

from __future__ import annotations

import json
from pathlib import Path

from reprolab import paths
from reprolab.kinds import Job, prepared_data
from reprolab.registry import Variant


def backbone(variant: Variant) -> str | None:
    """The pretrained network a variant uses: its features' backbone, or the first of its `assets`
    (`assets: [vgg16]`: torchvision's VGG16 and its ImageNet weights)."""
    if features := variant.params.get("features"):
        return features["backbone"]
    return next(iter(variant.params.get("assets", [])), None)


def pretrained_inputs(variant: Variant, config: dict) -> dict[str, str]:
    """The prepared dataset and the features (when the variant names them), the manifest of the
    backbone's weights (a fixture's has no file: the network is then randomly initialised) and
    the folder of the user's photos, when the variant names one."""
    inputs = {name: path for name, path in prepared_data(variant, config).items()
              if not name.startswith("asset_")}  # the backbone's manifest, as `weights`
    if network := backbone(variant):
        inputs["weights"] = paths.asset_manifest(config["data"]["root"], network)
    if photos := variant.params.get("photos"):
        inputs["photos"] = photos
    return inputs


def weights_origin(manifest: Path) -> dict:
    """What the backbone's weights are: `{"pretrained": bool, "file": name or None, "status": ...}`.
    A fixture's manifest has no file: smoke runs use randomly initialised networks."""
    files = json.loads(Path(manifest).read_text())["files"]
    if not files:
        return {"pretrained": False, "file": None, "status": "random initialisation (smoke fixture)"}
    return {"pretrained": True, "file": files[0]["name"], "status": files[0]["status"]}


def weights_text(metrics: dict) -> str:
    """The weights a job used, in words, from its metrics (`weights_origin`'s keys)."""
    if metrics.get("pretrained"):
        return f"ImageNet ({metrics['file']}, {metrics['status']})"
    return "random (smoke scale)"


def load_backbone(job: Job, seed: int = 0):
    """The variant's torchvision backbone with the weights of its asset (randomly initialised from
    `seed` when the asset is a fixture), and where its weights come from."""
    from reprolab.data.assets import asset_file
    from reprolab.data.assets.weights import pretrained_backbone

    arch = backbone(job.variant)
    model = pretrained_backbone(arch, asset_file(arch, Path(job.inputs["weights"]).parent), seed)
    return model, {"backbone": arch, **weights_origin(job.inputs["weights"])}
