"""What the jobs of chapter `transfer` share: writing metrics (the backbone: `reprolab.pretrained`).

Each kind's job lives in its own module (`anatomy`, `svm`, `multilabel`), which imports only what
it needs: a job is a fresh process, and scikit-learn, torchvision and matplotlib each cost about a
second to import.
"""

from __future__ import annotations

from reprolab.atomic import write_json
from reprolab.kinds import Job


def write_metrics(job: Job, metrics: dict) -> dict:
    write_json(job.outputs["metrics"], metrics)
    return metrics
