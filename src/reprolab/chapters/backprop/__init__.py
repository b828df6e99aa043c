"""Chapter `backprop`: networks written by hand (seed 004 TME 3-4, seed 002 TP 1), and SVMs.

Kinds: `scratch` (a fully connected network trained by hand, in one of four forms) and `svm`.
"""

from reprolab.kinds import Kind, register
from reprolab.registry import Variant


def scratch_outputs(variant: Variant) -> tuple[str, ...]:
    """Per seed: its metrics and history (and boundary); the boundary and image grid when asked."""
    boundary = ("boundary.png",) if variant.params.get("boundary") else ()
    per_seed = tuple(f"seed{seed}/{name}" for seed in variant.seeds
                     for name in ("metrics.json", "history.csv", *boundary))
    return per_seed + boundary + (("images.png",) if variant.params.get("image_grid") else ())


register(Kind("scratch", job="reprolab.chapters.backprop.jobs:scratch",
              outputs=("metrics.json", "history.csv", "curves.png"), extra_outputs=scratch_outputs,
              summarize="reprolab.chapters.backprop.report:scratch"))
register(Kind("svm", job="reprolab.chapters.backprop.jobs:svm", outputs=("metrics.json", "boundary.png"),
              extra_outputs=lambda v: ("c_sweep.png",) if v.params.get("c_sweep") else (),
              summarize="reprolab.chapters.backprop.report:svm"))
