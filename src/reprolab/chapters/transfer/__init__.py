"""Chapter `transfer`: ImageNet networks as feature extractors (seed 003 TP 7, seed 002 TP 3).

Kinds: `anatomy` (a pretrained network described layer by layer from the built model, and its
top-5 predictions on photos), `linear_svm` (linear SVMs on cached features, with a sweep over C)
and `multilabel` (sigmoid outputs and binary cross-entropy, on cached features or fine-tuning the
whole backbone; mAP). Features are extracted once per (backbone, layer, dataset) by the
`extract_features` rule, whatever the number of variants that read them.
"""

from reprolab import paths
from reprolab.kinds import Kind, prepared_data, register
from reprolab.registry import Variant


def backbone(variant: Variant) -> str | None:
    """The pretrained network a variant uses: its features' backbone, or the first of its `assets`
    (`assets: [vgg16]`: torchvision's VGG16 and its ImageNet weights)."""
    if features := variant.params.get("features"):
        return features["backbone"]
    return next(iter(variant.params.get("assets", [])), None)


def transfer_inputs(variant: Variant, config: dict) -> dict[str, str]:
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


register(Kind("anatomy", job="reprolab.chapters.transfer.anatomy:run",
              outputs=("metrics.json", "predictions.png"), inputs=transfer_inputs,
              summarize="reprolab.chapters.transfer.report:anatomy"))
register(Kind("linear_svm", job="reprolab.chapters.transfer.svm:run",
              outputs=("metrics.json", "confusion.png"), inputs=transfer_inputs,
              extra_outputs=lambda v: ("c_sweep.png",) if v.params.get("c_sweep") else (),
              summarize="reprolab.chapters.transfer.report:linear_svm"))
register(Kind("multilabel", job="reprolab.chapters.transfer.multilabel:run",
              outputs=("metrics.json", "history.csv", "model.pt"), inputs=transfer_inputs,
              summarize="reprolab.chapters.transfer.report:multilabel", resources="train", gpu=True,
              per_seed=True))
