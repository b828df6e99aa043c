"""Chapter `transfer`: ImageNet networks as feature extractors (seed 003 TP 7, seed 002 TP 3).

Kinds: `anatomy` (a pretrained network described layer by layer from the built model, and its
top-5 predictions on photos), `linear_svm` (linear SVMs on cached features, with a sweep over C)
and `multilabel` (sigmoid outputs and binary cross-entropy, on cached features or fine-tuning the
whole backbone; mAP). Features are extracted once per (backbone, layer, dataset) by the
`extract_features` rule, whatever the number of variants that read them.
"""

from reprolab.kinds import Kind, register
from reprolab.pretrained import pretrained_inputs

register(Kind("anatomy", job="reprolab.chapters.transfer.anatomy:run",
              outputs=("metrics.json", "predictions.png"), inputs=pretrained_inputs,
              summarize="reprolab.chapters.transfer.report:anatomy"))
register(Kind("linear_svm", job="reprolab.chapters.transfer.svm:run",
              outputs=("metrics.json", "confusion.png"), inputs=pretrained_inputs,
              extra_outputs=lambda v: ("c_sweep.png",) if v.params.get("c_sweep") else (),
              summarize="reprolab.chapters.transfer.report:linear_svm"))
register(Kind("multilabel", job="reprolab.chapters.transfer.multilabel:run",
              outputs=("metrics.json", "history.csv", "model.pt"), inputs=pretrained_inputs,
              summarize="reprolab.chapters.transfer.report:multilabel", resources="train", gpu=True,
              per_seed=True))
