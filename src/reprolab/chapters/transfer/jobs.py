"""What the jobs of chapter `transfer` share: where a backbone's weights come from, writing metrics.

Each kind's job lives in its own module (`anatomy`, `svm`, `multilabel`), which imports only what
it needs: a job is a fresh process, and scikit-learn, torchvision and matplotlib each cost about a
second to import.
"""

from __future__ import annotations

import json
from pathlib import Path

from reprolab.atomic import write_json
from reprolab.kinds import Job


def weights_origin(manifest: Path) -> dict:
    """What the backbone's weights are: `{"pretrained": bool, "file": name or None, "status": ...}`.
    A fixture's manifest has no file: smoke runs use randomly initialised networks."""
    files = json.loads(Path(manifest).read_text())["files"]
    if not files:
        return {"pretrained": False, "file": None, "status": "random initialisation (smoke fixture)"}
    return {"pretrained": True, "file": files[0]["name"], "status": files[0]["status"]}


def load_backbone(job: Job, seed: int = 0):
    """The variant's torchvision backbone with the weights of its asset (randomly initialised from
    `seed` when the asset is a fixture), and where its weights come from."""
    from reprolab.chapters.transfer import backbone
    from reprolab.data.assets import asset_file
    from reprolab.data.assets.weights import pretrained_backbone

    arch = backbone(job.variant)
    model = pretrained_backbone(arch, asset_file(arch, Path(job.inputs["weights"]).parent), seed)
    return model, {"backbone": arch, **weights_origin(job.inputs["weights"])}


def write_metrics(job: Job, metrics: dict) -> dict:
    write_json(job.outputs["metrics"], metrics)
    return metrics
