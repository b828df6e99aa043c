"""The jobs of chapter `visualization`: saliency maps, fooling images, class visualisation, CAM.

Each loads its variant's torchvision network with the weights of its asset (randomly initialised at
smoke scale, where the asset is a fixture without a file), freezes it, and works on the photos
(`reprolab.data.photos`: bundled with installed packages, or the user's folder), resized to
`image_size` × `image_size` and ImageNet-normalised. Settings in pixels (jitter, distortion, peak
tolerance) are given for a 224-pixel image and scaled with `image_size`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from reprolab.atomic import write_json
from reprolab.chapters.visualization import methods, plots
from reprolab.data.photos import Photo, imagenet_categories, photo_classes, sample_photos
from reprolab.engine.device import device_name, select_device
from reprolab.errors import ConfigError
from reprolab.kinds import Job

REFERENCE_SIZE = 224  # pixel settings are given for this image size


@dataclass
class Setup:
    model: torch.nn.Module
    origin: dict  # backbone, pretrained, file, status
    device: torch.device
    photos: list[Photo]
    images: torch.Tensor  # RGB in [0, 1], [N, 3, size, size], on the device
    x: torch.Tensor  # the network's input (normalised)
    size: int
    categories: list[str]
    tic: float

    def pixels(self, value: float) -> float:
        """A setting in pixels of a 224-pixel image, at this image size."""
        return value * self.size / REFERENCE_SIZE


def setup(job: Job) -> Setup:
    """The variant's frozen network on its device, and the photos resized and normalised."""
    from reprolab.pretrained import load_backbone

    tic = time.perf_counter()
    p = job.variant.params
    model, origin = load_backbone(job, seed=job.variant.seeds[0])
    device = select_device(job.variant.device)
    model = methods.frozen(model).to(device)
    photos = sample_photos(job.inputs.get("photos"))
    size = int(p["image_size"])
    images = torch.cat([methods.resize(torch.tensor(photo.image).permute(2, 0, 1)[None], size)
                        for photo in photos]).to(device)
    return Setup(model, origin, device, photos, images, methods.normalize(images), size,
                 imagenet_categories(),
                 tic)


def common(job: Job, s: Setup) -> dict:
    """What every metrics.json of the chapter records."""
    return {"id": job.variant.id, **s.origin, "image_size": s.size, "device": s.device.type,
            "device_name": device_name(s.device),
            "photo_sources": [{"photo": photo.name, "source": photo.source} for photo in s.photos]}


def finish(job: Job, s: Setup, metrics: dict) -> dict:
    metrics["wall_time_s"] = time.perf_counter() - s.tic
    write_json(job.outputs["metrics"], metrics)
    return metrics


def rgb(image: torch.Tensor) -> np.ndarray:
    """[3, H, W] in [0, 1] -> [H, W, 3] for matplotlib."""
    return image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def mean(values) -> float | None:
    """The mean of the values that are not None (None when there are none)."""
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def smoke_note(s: Setup) -> str:
    return "" if s.origin["pretrained"] else " (randomly initialised network: smoke scale)"


@torch.no_grad()
def predictions(s: Setup, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and softmax probabilities (%)."""
    logits = s.model(x)
    return logits, 100 * logits.softmax(1)


def classes_of(job: Job, s: Setup, top1: list[int]) -> tuple[torch.Tensor, list[str]]:
    chosen = photo_classes(s.photos, job.variant.params.get("classes"), top1)
    return torch.tensor([c for c, _ in chosen], device=s.device), [origin for _, origin in chosen]


# --- saliency ----------------------------------------------------------------------------------------

SALIENT = 0.05  # the share of pixels whose share of the saliency measures a map's concentration


def saliency(job: Job) -> dict:
    """Saliency maps of the photos for their classes; how concentrated they are, what the max over RGB and
    the absolute value drop."""
    s = setup(job)
    logits, probs = predictions(s, s.x)
    top1 = logits.argmax(1).tolist()
    classes, origins = classes_of(job, s, top1)
    maps, grad = methods.saliency(s.model, s.x, classes)
    shares = methods.top_share(maps, SALIENT)
    boxes = methods.box_share(maps, SALIENT)
    absolute = grad.abs()
    kept = maps.flatten(1).sum(1) / absolute.flatten(1).sum(1).clamp_min(1e-30)  # max over RGB / sum over RGB
    negative = (grad.clamp(max=0).abs().flatten(1).sum(1) / absolute.flatten(1).sum(1).clamp_min(1e-30))
    alive = maps.flatten(1).amax(1) > 0  # a class behind a dead ReLU has no gradient at all

    def share(values: torch.Tensor, i: int) -> float | None:
        return float(values[i]) if alive[i] else None

    rows = []
    for i, photo in enumerate(s.photos):
        c = int(classes[i])
        rows.append({"photo": photo.name, "class": c, "class_name": s.categories[c],
                     "class_from": origins[i], "score": float(logits[i, c]),
                     "probability": float(probs[i, c]),
                     "top1": top1[i], "top1_name": s.categories[top1[i]],
                     "top1_probability": float(probs[i].max()),
                     "zero_gradient": not bool(alive[i]), "top_share": share(shares, i),
                     "box_share": share(boxes, i), "rgb_max_share": share(kept, i),
                     "negative_share": share(negative, i)})
    scaled = methods.minmax(maps).cpu().numpy()
    plots.grid([[rgb(im) for im in s.images], [plots.heat(m, "hot") for m in scaled]],
               job.outputs["saliency"],
               f"{s.origin['backbone']}: saliency maps, max over RGB of |∂ score / ∂ pixel|{smoke_note(s)}",
               cell_titles=[[r["class_name"] for r in rows], ["" for _ in rows]],
               row_labels=["photo (its class)", "saliency"])
    means = {key: mean(r[key] for r in rows) for key in ("top_share", "box_share", "rgb_max_share",
                                                         "negative_share")}
    return finish(job, s, {**common(job, s), "salient_fraction": SALIENT, "photos": rows, **means,
                           "n_zero_gradient": sum(r["zero_gradient"] for r in rows)})


# --- fooling images ----------------------------------------------------------------------------------

def fooling(job: Job) -> dict:
    """A fooling image of each photo for the target class: steps taken, the perturbation's norms, whether
    it survives rounding to an 8-bit image."""
    p = job.variant.params
    s = setup(job)
    target, lr, cap = int(p["target"]), float(p["lr"]), int(p["max_iterations"])
    magnify = float(p["magnify"])
    logits, probs = predictions(s, s.x)
    rows, cells, titles = [], [], []
    for i, photo in enumerate(s.photos):
        x = s.x[i:i + 1]
        result = methods.fooling_image(s.model, x, target, lr, cap)
        after_logits, after_probs = predictions(s, result.image)
        rounded = methods.quantized(result.image)
        rounded_top1 = int(predictions(s, rounded)[0].argmax(1))
        before = int(logits[i].argmax())
        after = int(after_logits.argmax(1))
        rows.append({"photo": photo.name, "top1": before, "top1_name": s.categories[before],
                     "top1_probability": float(probs[i, before]),
                     "target_probability_before": float(probs[i, target]),
                     "iterations": result.iterations, "fooled": result.fooled, "top1_after": after,
                     "top1_after_name": s.categories[after],
                     "target_probability": float(after_probs[0, target]),
                     "target_score_before": float(logits[i, target]),
                     "target_score": float(after_logits[0, target]),
                     "fooled_after_rounding": rounded_top1 == target,
                     **methods.pixel_norms(x, result.image)})
        delta = methods.denormalize(result.image)[0] - s.images[i]
        cells.append([rgb(s.images[i]), rgb(methods.denormalize(result.image)[0]), rgb(0.5 + delta),
                      rgb(0.5 + magnify * delta)])
        titles.append([f"{s.categories[before]} ({float(probs[i, before]):.0f} %)",
                       f"{s.categories[after]} ({float(after_probs[0, after]):.0f} %), {result.iterations} "
                       "steps",
                       f"difference (L∞ {rows[-1]['linf_pixels']:.1f} / 255)", f"difference × {magnify:g}"])
    plots.grid(cells, job.outputs["fooling"], f"{s.origin['backbone']}: fooling images for class {target} "
               f"«{s.categories[target]}»{smoke_note(s)}", cell_titles=titles,
               row_labels=[photo.name for photo in s.photos])
    fooled = [r for r in rows if r["fooled"]]
    return finish(job, s, {
        **common(job, s), "target": target, "target_name": s.categories[target], "lr": lr,
                           "max_iterations": cap,
        "photos": rows, "n_photos": len(rows), "n_fooled": len(fooled),
        "fooled_pct": 100 * len(fooled) / len(rows),
        "iterations_mean": float(np.mean([r["iterations"] for r in rows])),
        "iterations_max": max(r["iterations"] for r in rows),
        "linf_pixels_max": max(r["linf_pixels"] for r in rows),
        "l2_pixels_mean": float(np.mean([r["l2_pixels"] for r in rows])),
        "n_fooled_after_rounding": sum(r["fooled_after_rounding"] for r in rows)})


# --- class visualisation -----------------------------------------------------------------------------

ENERGETIC = 0.10  # the share of pixels whose share of the image's energy measures object against background


def class_visualization(job: Job) -> dict:
    """Gradient ascent on a class's score from noise or from a photo (one run per start), traced at every
    step: the target's score and probability, the steps to reach the top class and 50 / 90 %."""
    p = job.variant.params
    s = setup(job)
    seed = job.variant.seeds[0]
    logits, _ = predictions(s, s.x)
    top1 = logits.argmax(1).tolist()
    own = dict(zip((photo.name for photo in s.photos), photo_classes(s.photos, p.get("classes"), top1),
                   strict=True))
    runs, drawn = [], []
    for k, start in enumerate(p["starts"]):
        generator = torch.Generator().manual_seed(seed * 1000 + k)
        if start == "noise":
            image = torch.randn((1, 3, s.size, s.size), generator=generator)
            target, target_from = int(p["target"]), "config"
        else:
            names = [photo.name for photo in s.photos]
            if start not in names:
                raise ConfigError(f"{job.variant.id}: starts: {start!r} is neither `noise` nor one of the "
                                  f"photos ({', '.join(names)})")
            i = names.index(start)
            image, (target, target_from) = s.x[i:i + 1].cpu(), own[start]
        result = methods.class_visualization(
            s.model, image.to(s.device), target, int(p["iterations"]), float(p["lr"]), float(p["reg"]),
            round(s.pixels(p["jitter"])), int(p["blur_every"]), float(p["blur_sigma"]), int(p["show_every"]),
            generator)
        snapshots = {t: im.cpu() for t, im in result.snapshots.items()}
        steps = sorted(snapshots)
        changes = {t: float((snapshots[t] - snapshots[prev]).norm() / snapshots[prev].norm().clamp_min(1e-12))
                   for prev, t in zip(steps, steps[1:], strict=False)}
        runs.append({
            "start": start, "target": target, "target_name": s.categories[target], "target_from": target_from,
            "scores": result.scores, "probabilities": result.probabilities,
            "final_score": result.final_score, "final_probability": result.final_probability,
            "final_top1": result.final_top1, "final_top1_name": s.categories[result.final_top1],
            "start_score": result.scores[0] if result.scores else None,
            "start_probability": result.probabilities[0] if result.probabilities else None,
            "steps_to_top1": next((t for t, c in enumerate(result.top1) if c == target), None),
            "steps_to_p50": methods.first_reaching(result.probabilities, 50),
            "steps_to_p90": methods.first_reaching(result.probabilities, 90),
            "snapshot_iterations": steps, "snapshot_changes": changes,
            "energy_share": float(methods.top_share(methods.energy(result.image), ENERGETIC)[0]),
            "image_norm": float(result.image.norm())})
        label = "from noise" if start == "noise" else f"from {start}"
        drawn.append({"label": f"{label}: {s.categories[target]}", "scores": result.scores,
                      "probabilities": result.probabilities,
                      "snapshots": {t: rgb(im) for t, im in snapshots.items()}})
    plots.class_visualization(drawn, job.outputs["class_viz"],
                              f"{s.origin['backbone']}: class visualisation, lr {p['lr']:g}, "
                              f"{p['iterations']} iterations, regularisation {p['reg']:g}{smoke_note(s)}")
    return finish(job, s, {**common(job, s), "lr": float(p["lr"]), "iterations": int(p["iterations"]),
                           "reg": float(p["reg"]), "jitter": round(s.pixels(p["jitter"])),
                           "blur_every": int(p["blur_every"]), "blur_sigma": float(p["blur_sigma"]),
                           "energetic_fraction": ENERGETIC, "runs": runs,
                           "final_probability": runs[0]["final_probability"]})


# --- class activation maps ---------------------------------------------------------------------------

def cam(job: Job) -> dict:
    """CAM (and Grad-CAM) of the last stage for each photo's class; with `gradients`, the vanilla input
    gradient and LayerCAM at every stage; with `transform`, the same under each level of a distortion or
    a contrast change, and how often the top-1 class and the CAM's peak survive it."""
    p = job.variant.params
    s = setup(job)
    layer = p["layer"]
    logits, probs = predictions(s, s.x)
    top1 = logits.argmax(1).tolist()
    classes, origins = classes_of(job, s, top1)
    maps, _ = methods.cam(s.model, s.x, classes, layer)
    grad_maps = methods.grad_cam(s.model, s.x, classes, layer)
    scaled = methods.upsample(methods.minmax(maps), s.size)
    peaks = methods.peak(scaled)
    cells = maps.shape[1] * maps.shape[2]  # Grad-CAM · h·w = ReLU(CAM) after global average pooling
    identity = ((grad_maps * cells - torch.relu(maps)).flatten(1).abs().amax(1)
                / maps.flatten(1).abs().amax(1).clamp_min(1e-30))
    alive = maps.flatten(1).amax(1) > 0  # a class behind a dead ReLU has no gradient at all

    def share(values: torch.Tensor, i: int) -> float | None:
        return float(values[i]) if alive[i] else None

    rows = []
    for i, photo in enumerate(s.photos):
        c = int(classes[i])
        rows.append({"photo": photo.name, "class": c, "class_name": s.categories[c],
                     "class_from": origins[i], "probability": float(probs[i, c]), "top1": top1[i],
                     "top1_name": s.categories[top1[i]], "top1_probability": float(probs[i, top1[i]]),
                     "peak": list(peaks[i]), "grid": list(maps.shape[1:]),
                     "gradcam_identity_error": float(identity[i])})
    images = [rgb(im) for im in s.images]
    metrics = {**common(job, s), "layer": layer, "grid": list(maps.shape[1:]), "photos": rows,
               "gradcam_identity_error": float(identity.max())}
    transform = p.get("transform")
    if not transform:
        grad_scaled = methods.upsample(methods.minmax(grad_maps), s.size)
        plots.grid([[images[i], plots.overlay(images[i], scaled[i].cpu().numpy()),
                     plots.overlay(images[i], grad_scaled[i].cpu().numpy())] for i in range(len(rows))],
                   job.outputs["cam"], f"{s.origin['backbone']} {layer}: CAM and Grad-CAM{smoke_note(s)}",
                   column_titles=["photo", "CAM", "Grad-CAM"],
                   row_labels=[f"{r['photo']}: {r['class_name']}" for r in rows])
    else:
        metrics.update(robustness(job, s, transform, classes, maps, peaks, top1, images))
    if stages := p.get("stages"):
        metrics["stages"] = gradient_maps(job, s, classes, stages, images, [r["class_name"] for r in rows])
    return finish(job, s, metrics)


def gradient_maps(job: Job, s: Setup, classes: torch.Tensor, stages: list[str], images: list[np.ndarray],
                  names: list[str]) -> list[dict]:
    """The vanilla input gradient (coloured and grey, as pytorch-cnn-visualizations draws it) and LayerCAM at
    each stage ("Hierarchical Gradient Visualization")."""
    grad = methods.input_gradient(s.model, s.x, classes)
    coloured = methods.minmax(grad.flatten(1, 2).view(len(grad), -1, grad.shape[-1])).view_as(grad)
    grey = grad.abs().sum(1)
    grey = (grey / torch.quantile(grey.flatten(1), 0.99, dim=1).clamp_min(1e-30).view(-1, 1, 1)).clamp(max=1)
    maps = methods.layer_cams(s.model, s.x, classes, stages)
    cells = []
    for i in range(len(images)):
        row = [images[i], rgb(coloured[i]), plots.heat(grey[i].cpu().numpy(), "gray")]
        row += [plots.overlay(images[i], methods.upsample(methods.minmax(maps[name][i:i + 1]), s.size)[0]
                              .cpu().numpy()) for name in stages]
        cells.append(row)
    plots.grid(cells, job.outputs["gradients"], f"{s.origin['backbone']}: vanilla gradient and LayerCAM per "
               f"stage{smoke_note(s)}", column_titles=["photo", "gradient", "|gradient|", *stages],
               row_labels=[f"{photo.name}: {name}" for photo, name in zip(s.photos, names, strict=True)])
    return [{"stage": name, "grid": list(maps[name].shape[1:]),
             "top_share": float(methods.top_share(methods.upsample(maps[name], s.size), 0.05).mean())}
            for name in stages]


def robustness(job: Job, s: Setup, transform: dict, classes: torch.Tensor, maps: torch.Tensor,
               peaks: list[tuple[int, int]], top1: list[int], images: list[np.ndarray]) -> dict:
    """Each level of the transformation on every photo: the top-1 class and the CAM (same class) against the
    original's; the peak is kept when it moves by at most `peak_tolerance` pixels (of a 224-pixel image)."""
    p = job.variant.params
    name, levels = transform["name"], transform["levels"]
    tolerance = s.pixels(float(p["peak_tolerance"]))
    generator = torch.Generator().manual_seed(job.variant.seeds[0])
    rows, columns = [], []
    for level in levels:
        if name == "elastic":
            changed, rms = methods.elastic(s.images.cpu(), s.pixels(level), s.pixels(transform["sigma"]),
                                           generator)
        elif name == "contrast":
            changed, rms = methods.contrast(s.images.cpu(), level), None
        else:
            raise ConfigError(f"{job.variant.id}: transform {name!r}: known transforms are elastic, contrast")
        changed = changed.to(s.device)
        x = methods.normalize(changed)
        new_maps, logits = methods.cam(s.model, x, classes, p["layer"])
        new_top1 = logits.argmax(1).tolist()
        scaled = methods.upsample(methods.minmax(new_maps), s.size)
        new_peaks = methods.peak(scaled)
        similar = methods.correlation(maps, new_maps)
        for i, photo in enumerate(s.photos):
            moved = float(np.hypot(new_peaks[i][0] - peaks[i][0], new_peaks[i][1] - peaks[i][1]))
            rows.append({"level": level, "photo": photo.name, "top1": new_top1[i],
                         "top1_name": s.categories[new_top1[i]], "top1_kept": new_top1[i] == top1[i],
                         "peak": list(new_peaks[i]), "peak_shift_px": moved, "peak_kept": moved <= tolerance,
                         "correlation": float(similar[i]), "displacement_rms_px": rms})
        columns.append((level, [plots.overlay(rgb(changed[i]),
                                              scaled[i].cpu().numpy()) for i in range(len(images))],
                        [s.categories[c] for c in new_top1]))
    original = methods.upsample(methods.minmax(maps), s.size)
    cells = [[plots.overlay(images[i], original[i].cpu().numpy())] + [col[1][i] for col in columns]
             for i in range(len(images))]
    word = {"elastic": "elastic α = ", "contrast": "contrast × "}[name]
    titles = [[f"original\n{s.categories[top1[i]]}"] + [f"{word}{level:g}\n{col[2][i]}" for level, col in
                                                         zip(levels, columns, strict=True)]
              for i in range(len(images))]
    plots.grid(cells, job.outputs["cam"], f"{s.origin['backbone']} {p['layer']}: CAM under {name} changes "
               f"(same class; top-1 above each){smoke_note(s)}", cell_titles=titles,
               row_labels=[photo.name for photo in s.photos])
    per_level = []
    for level in levels:
        these = [r for r in rows if r["level"] == level]
        per_level.append({"level": level, "n": len(these), "top1_kept": sum(r["top1_kept"] for r in these),
                          "peak_kept": sum(r["peak_kept"] for r in these),
                          "correlation": float(np.mean([r["correlation"] for r in these])),
                          "peak_shift_px": float(np.mean([r["peak_shift_px"] for r in these])),
                          "displacement_rms_px": these[0]["displacement_rms_px"]})
    return {"transform": name, "levels": levels, "sigma": transform.get("sigma"),
            "peak_tolerance_px": tolerance, "copies": rows, "per_level": per_level,
            "top1_kept": 100 * float(np.mean([r["top1_kept"] for r in rows])),
            "cam_peak_kept": 100 * float(np.mean([r["peak_kept"] for r in rows])),
            "cam_correlation": float(np.mean([r["correlation"] for r in rows]))}
