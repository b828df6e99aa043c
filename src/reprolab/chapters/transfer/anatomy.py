"""The `anatomy` kind: an ImageNet network described from the built model, and its predictions."""

from __future__ import annotations

import time

import torch

from reprolab.chapters.transfer import plots
from reprolab.chapters.transfer.jobs import write_metrics
from reprolab.chapters.transfer.networks import describe
from reprolab.data.photos import imagenet_categories, sample_photos
from reprolab.engine.device import device_name
from reprolab.features import preprocess
from reprolab.kinds import Job
from reprolab.pretrained import load_backbone


@torch.no_grad()
def run(job: Job) -> dict:
    """An ImageNet network described layer by layer (output shapes, parameters, receptive fields)
    and its top-k predictions, with softmax probabilities, on the photos."""
    tic = time.perf_counter()
    variant, p = job.variant, job.variant.params
    model, origin = load_backbone(job)
    model.eval()
    layers = describe(model, origin["backbone"])
    categories = imagenet_categories()
    photos = sample_photos(p.get("photos"))
    k = int(p.get("top", 5))
    predictions = []
    for photo in photos:
        image = torch.tensor(photo.image).permute(2, 0, 1).unsqueeze(0).contiguous()
        logits = model(preprocess(image))[0]
        probs = logits.softmax(0) * 100
        values, index = probs.topk(k)
        predictions.append({"photo": photo.name, "source": photo.source, "size": list(photo.image.shape[:2]),
                            "probability_sum": float(probs.sum()),
                            "top": [[categories[i], float(v)] for v, i in zip(values, index.tolist(),
                                                                                strict=True)]})
    plots.predictions([ph.image for ph in photos], [ph.name for ph in photos],
                      [pr["top"] for pr in predictions], job.outputs["predictions"],
                      f"{origin['backbone']}: top-{k} ImageNet classes"
                      + ("" if origin["pretrained"] else " (randomly initialised network: smoke scale)"))
    total = sum(layer["params"] for layer in layers)
    return write_metrics(job, {
        "id": variant.id, **origin, "input_shape": [3, 224, 224], "layers": layers, "params": total,
        "n_categories": len(categories), "categories_first_last": [categories[0], categories[-1]],
        "top_k": k, "predictions": predictions, "device": "cpu",
        "device_name": device_name(torch.device("cpu")), "wall_time_s": time.perf_counter() - tic})


