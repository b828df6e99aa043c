"""Per-variant results: the seeds of a variant combined into one `metrics.json`,
`history.csv` (mean over seeds) and `curves.png`, the files the report and DVC read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from reprolab.atomic import atomic_write, write_json
from reprolab.metrics import mean_std
from reprolab.registry import Variant

SUMMED = {"wall_time_s"}
SUMMED_MATRICES = {"confusion"}
KEPT = {"input_shape"}  # the same for every seed: taken from the first


def aggregate(variant: Variant, seed_dirs: list[Path], out_dir: Path, curves: bool = True) -> dict:
    """Combine the per-seed runs of `variant` (mean, and std as `<key>_std`); draw `curves.png` unless
    `curves` is false (a kind that draws its own figures spares the matplotlib import)."""
    out_dir = Path(out_dir)
    runs = [json.loads((Path(d) / "metrics.json").read_text()) for d in seed_dirs]
    combined: dict = {"id": variant.id, "seeds": [r["seed"] for r in runs],
                      "device": runs[0]["device"], "device_name": runs[0]["device_name"]}
    combined.update({key: runs[0][key] for key in KEPT & runs[0].keys()})
    for key in SUMMED_MATRICES & runs[0].keys():
        combined[key] = np.sum([r[key] for r in runs], axis=0).tolist()
    for key, value in runs[0].items():
        if isinstance(value, bool) or not isinstance(value, int | float) or key == "seed":
            continue
        values = [r[key] for r in runs if r.get(key) is not None]
        if all(isinstance(v, int) for v in values) and len(set(values)) == 1:
            combined[key] = values[0]  # counts (parameters, examples, epochs) stay integers
        elif key in SUMMED:
            combined[key] = sum(values)
        elif values and all(isinstance(v, int) for v in values) and len(set(values)) == 1:
            combined[key] = values[0]  # e.g. a parameter count: the same integer for every seed
        elif values:
            combined[key], std = mean_std(values)
            if len(values) > 1:
                combined[f"{key}_std"] = std
    histories = [pd.read_csv(Path(d) / "history.csv") for d in seed_dirs]
    history = pd.concat(histories).groupby("epoch", as_index=False).mean()
    with atomic_write(out_dir / "history.csv", "w", newline="") as f:
        history.to_csv(f, index=False)
    if curves:
        from reprolab import figures

        seeds = "1 seed" if len(runs) == 1 else f"mean of {len(runs)} seeds"
        figures.curves(history, out_dir / "curves.png", f"{variant.id} ({seeds})")
    write_json(out_dir / "metrics.json", combined)
    return combined
