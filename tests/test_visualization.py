"""Chapter `visualization`: the methods against analytic answers and planted patterns, the jobs on
randomly initialised networks, and the report built from their metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from reprolab import kinds
from reprolab.chapters.visualization import methods
from reprolab.chapters.visualization import report as vis_report
from reprolab.data import photos
from reprolab.errors import ConfigError
from reprolab.registry import Variant
from reprolab.report.parts import ChapterPart, Context, ExperimentPart, VariantResult
from tests.conftest import REPO

torch.set_num_threads(1)


def linear_net(size: int = 8, classes: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return methods.frozen(nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, classes)))


def test_saliency_of_a_linear_network_is_its_weights():
    model = linear_net()
    x = torch.randn(2, 3, 8, 8)
    classes = torch.tensor([1, 4])
    maps, grad = methods.saliency(model, x, classes)
    weights = model[1].weight
    for i, c in enumerate(classes.tolist()):
        assert torch.allclose(grad[i], weights[c].view(3, 8, 8))
        assert torch.allclose(maps[i], weights[c].view(3, 8, 8).abs().amax(0))


class Quadratic(nn.Module):
    """s_k(x) = Σ a_k ⊙ x²: ∂s_k/∂x = 2 a_k ⊙ x."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.randn(3, 3, 4, 4, generator=torch.Generator().manual_seed(1)))

    def forward(self, x):
        return torch.einsum("kchw,nchw->nk", self.a, x ** 2)


def test_saliency_is_the_analytic_gradient_of_a_nonlinear_score():
    model = methods.frozen(Quadratic())
    x = torch.randn(1, 3, 4, 4)
    maps, grad = methods.saliency(model, x, torch.tensor([2]))
    expected = 2 * model.a[2] * x[0]
    assert torch.allclose(grad[0], expected, atol=1e-6)
    assert torch.allclose(maps[0], expected.abs().amax(0), atol=1e-6)


def test_map_shares():
    maps = torch.zeros(2, 10, 10)
    maps[0] = 1.0  # uniform
    maps[1, 2, 3] = 5.0  # one pixel
    assert torch.allclose(methods.top_share(maps, 0.05), torch.tensor([0.05, 1.0]))
    assert torch.allclose(methods.box_share(maps[1:], 0.01), torch.tensor([0.01]))


def tiny_net(classes: int = 10) -> nn.Module:
    torch.manual_seed(3)
    return methods.frozen(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(2),
                                        nn.Flatten(), nn.Linear(32, classes)))


def test_fooling_image_reaches_the_target_and_reports_its_norms():
    model = tiny_net()
    images = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    x = methods.normalize(images)
    logits = model(x)
    target = int(logits.argmin())
    result = methods.fooling_image(model, x, target, lr=0.5, max_iterations=100)
    assert result.fooled and 0 < result.iterations < 100
    assert int(model(result.image).argmax()) == target
    assert len(result.scores) == result.iterations
    norms = methods.pixel_norms(x, result.image)
    delta = (methods.denormalize(result.image) - images) * 255
    assert norms["l2_input"] == pytest.approx(float((result.image - x).norm()), rel=1e-5)
    assert norms["linf_pixels"] == pytest.approx(float(delta.abs().max()), rel=1e-5)
    assert norms["l2_pixels"] == pytest.approx(float(delta.norm()), rel=1e-5)
    assert 0 < norms["linf_pixels"] <= norms["l2_pixels"]
    # each step moves the input by lr exactly (normalised steps)
    assert norms["l2_input"] <= 0.5 * result.iterations + 1e-4


def test_fooling_stops_at_once_on_an_image_already_of_the_target():
    model = tiny_net()
    x = methods.normalize(torch.rand(1, 3, 16, 16))
    target = int(model(x).argmax())
    result = methods.fooling_image(model, x, target, lr=1.0, max_iterations=10)
    assert result.fooled and result.iterations == 0 and torch.equal(result.image, x)


class PlantedDetector(nn.Module):
    """A ResNet-like toy: `layer4` (4 × 4 cells of 8 px) detects bright patches; global average pooling
    then `fc`, where class 1 reads the detector's channel and class 0 the opposite."""

    def __init__(self):
        super().__init__()
        self.layer4 = nn.Sequential(nn.Conv2d(3, 2, 8, stride=8), nn.ReLU())
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.layer4[0].weight.zero_()
            self.layer4[0].weight[0] = 1.0 / (3 * 64)  # mean brightness of the cell
            self.layer4[0].bias.copy_(torch.tensor([-0.5, 0.1]))  # fires above a mean of 0.5
            self.fc.weight.copy_(torch.tensor([[-1.0, 1.0], [2.0, 0.5]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.layer4(x).mean((2, 3)))


def test_cam_grad_cam_and_layer_cam_find_a_planted_pattern():
    model = methods.frozen(PlantedDetector())
    x = torch.zeros(2, 3, 32, 32)
    x[0, :, 16:24, 8:16] = 1.0  # cell (2, 1)
    x[1, :, 0:8, 24:32] = 1.0  # cell (0, 3)
    classes = torch.tensor([1, 1])
    maps, logits = methods.cam(model, x, classes)
    assert maps.shape == (2, 4, 4)
    assert methods.peak(maps) == [(2, 1), (0, 3)]
    grad = methods.grad_cam(model, x, classes)
    assert torch.allclose(grad * 16, torch.relu(maps), atol=1e-6)  # Grad-CAM · h·w = ReLU(CAM)
    layer = methods.layer_cams(model, x, classes, ["layer4"])["layer4"]
    assert methods.peak(layer) == [(2, 1), (0, 3)]
    row, column = methods.peak(methods.upsample(methods.minmax(maps), 32))[0]
    assert 16 <= row < 24 and 8 <= column < 16  # the upsampled peak lies in the patch


def test_blur_is_scipys_gaussian_filter():
    from scipy.ndimage import gaussian_filter1d

    x = torch.randn(1, 3, 12, 10, generator=torch.Generator().manual_seed(0))
    for sigma in (0.5, 1.0):
        expected = gaussian_filter1d(gaussian_filter1d(x.numpy(), sigma, axis=2), sigma, axis=3)
        assert np.allclose(methods.blur(x, sigma).numpy(), expected, atol=1e-5)


def test_class_visualization_climbs_the_score_and_keeps_snapshots():
    model = tiny_net()
    start = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    result = methods.class_visualization(model, start, target=4, iterations=12, lr=100.0, reg=1e-3, jitter=2,
                                         blur_every=5, sigma=0.5, show_every=5,
                                         generator=torch.Generator().manual_seed(0))
    assert sorted(result.snapshots) == [0, 5, 10, 12]
    assert len(result.scores) == len(result.probabilities) == len(result.top1) == 12
    assert result.final_score > result.scores[0]
    mean, std = torch.tensor(methods.IMAGENET_MEAN), torch.tensor(methods.IMAGENET_STD)
    rgb = result.image[0] * std.view(3, 1, 1) + mean.view(3, 1, 1)
    assert rgb.min() >= -1e-5 and rgb.max() <= 1 + 1e-5  # clamped to the image of [0, 1]
    assert methods.first_reaching([1.0, 3.0, 5.0], 3.0) == 1 and methods.first_reaching([1.0], 2.0) is None


def test_contrast_and_elastic_changes():
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(methods.contrast(images, 1.0), images)
    grey = methods.contrast(images, 0.0)
    assert torch.allclose(grey, grey[:, :, :1, :1].expand_as(grey))
    same, rms = methods.elastic(images, 0.0, 2.0, torch.Generator().manual_seed(0))
    assert rms == 0 and torch.allclose(same, images, atol=1e-5)
    moved, small = methods.elastic(images, 4.0, 2.0, torch.Generator().manual_seed(0))
    _, large = methods.elastic(images, 8.0, 2.0, torch.Generator().manual_seed(0))
    assert not torch.allclose(moved, images) and large == pytest.approx(2 * small, rel=1e-5)


def test_photo_classes_from_the_config_the_photo_or_the_network():
    ps = [photos.Photo("a", np.zeros((2, 2, 3), np.uint8), "x", 652), photos.Photo("b", np.zeros((2, 2, 3)),
                                                                                   "y")]
    assert photos.photo_classes(ps, None, [1, 2]) == [(652, "photo's label"), (2, "network's top-1")]
    assert photos.photo_classes(ps, 515, [1, 2]) == [(515, "config"), (515, "config")]
    assert photos.photo_classes(ps, {"b": 7}, [1, 2]) == [(652, "photo's label"), (7, "config")]
    with pytest.raises(ConfigError, match="not an ImageNet class"):
        photos.photo_classes(ps, 1000, [1, 2])
    names = photos.imagenet_categories()
    assert [names[c] for c in photos.BUNDLED_CLASSES.values()] == ["military uniform", "palace", "daisy"]


def test_bundled_photos_are_scikit_learns_without_importing_it():
    code = ("import sys; from reprolab.data.photos import bundled_photos; p = bundled_photos(); "
            "assert 'sklearn' not in sys.modules; print([x.label for x in p])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[652, 698, 985]"
    from sklearn.datasets import load_sample_image

    ours = {p.name: p.image for p in photos.bundled_photos()}
    assert np.array_equal(ours["china"], load_sample_image("china.jpg"))


# --- the jobs on randomly initialised networks, and the report from their metrics --------------------

def fixture_manifest(root: Path, arch: str) -> Path:
    """An asset fixture's manifest: no file, the network is randomly initialised."""
    folder = root / "assets" / arch
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"asset": arch, "files": []}))
    return folder / "manifest.json"


def run_kind(tmp: Path, experiment: str, name: str, params: dict) -> VariantResult:
    params = {"seeds": [0], "device": "cpu", "image_size": 32, "photos": None, **params}
    variant = Variant("visualization", experiment, name, params)
    kind = kinds.get(params["kind"])
    folder = tmp / "results" / variant.id
    folder.mkdir(parents=True)
    outputs = {kinds.output_name(f): folder / f for f in kind.output_files(variant)}
    inputs = {"weights": fixture_manifest(tmp / "data", params["assets"][0])}
    kind.run(kinds.Job(variant, inputs, outputs))
    for path in outputs.values():
        assert path.stat().st_size > 0, path
    return VariantResult(variant, json.loads(outputs["metrics"].read_text()), None, folder)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict[str, dict[str, VariantResult]]:
    tmp = tmp_path_factory.mktemp("vis")
    sq = {"assets": ["squeezenet1_1"]}
    viz = {**sq, "kind": "class_visualization", "target": 76, "lr": 5, "iterations": 3, "reg": 1e-3,
           "jitter": 16,
           "blur_every": 2, "blur_sigma": 0.5, "show_every": 2, "classes": None}
    cam = {"kind": "cam", "assets": ["resnet18"], "layer": "layer4", "classes": None, "peak_tolerance": 32}
    return {
        "saliency": {"squeezenet": run_kind(tmp, "saliency", "squeezenet", {**sq, "kind": "saliency"})},
        "adversarial": {"squeezenet": run_kind(tmp, "adversarial", "squeezenet", {
            **sq, "kind": "fooling", "target": 6, "lr": 1.0, "max_iterations": 3, "magnify": 10})},
        "class_viz": {"default": run_kind(tmp, "class_viz", "default", {**viz, "starts": ["noise"]}),
                      "from_image": run_kind(tmp, "class_viz", "from_image", {**viz,
                                                                              "starts": ["grace_hopper"]})},
        "cam": {"original": run_kind(tmp, "cam", "original", {**cam, "stages": ["layer1", "layer4"]}),
                "distortion": run_kind(tmp, "cam", "distortion", {
                    **cam, "transform": {"name": "elastic", "sigma": 5, "levels": [10, 100, 400]}}),
                "contrast": run_kind(tmp, "cam", "contrast", {
                    **cam, "transform": {"name": "contrast", "levels": [0.5, 2]}})},
    }


def test_jobs_report_what_the_chapter_needs(jobs):
    fooled = jobs["adversarial"]["squeezenet"].metrics
    assert fooled["pretrained"] is False and fooled["n_photos"] == 3 and fooled["target_name"] == "stingray"
    for p in fooled["photos"]:
        assert {"iterations", "fooled", "l2_input", "l2_pixels", "linf_pixels",
                "fooled_after_rounding"} <= p.keys()
        assert p["iterations"] <= 3
    sal = jobs["saliency"]["squeezenet"].metrics
    assert [p["class"] for p in sal["photos"]] == [652, 698, 985]
    assert [p["class_from"] for p in sal["photos"]] == ["photo's label"] * 3
    run = jobs["class_viz"]["from_image"].metrics["runs"][0]
    assert run["start"] == "grace_hopper" and run["target"] == 652 and len(run["scores"]) == 3
    original = jobs["cam"]["original"].metrics
    assert original["gradcam_identity_error"] < 1e-4
    assert [s["stage"] for s in original["stages"]] == ["layer1", "layer4"]


def test_the_robustness_table_has_one_row_per_level(jobs, tmp_path):
    results = jobs["cam"]
    ctx = Context(smoke=True, tolerance=1.0, primary="cam_peak_kept", direction="max", references={},
                  figures_dir=tmp_path)
    part = ExperimentPart("cam", "CAM", "cam")
    vis_report.cam(part, results, ctx)
    vis_report.cam_questions(part, results, ctx)
    for name, levels in (("distortion", [10, 100, 400]), ("contrast", [0.5, 2])):
        m = results[name].metrics
        assert [row["level"] for row in m["per_level"]] == levels
        assert len(m["copies"]) == 3 * len(levels)
        table = next(t for t in part.tables if t.title.startswith(f"{name}: one row per level"))
        assert len(table.rows) == len(levels) + 1 and table.rows[-1].cells[0] == "all levels"
        kept = sum(row["peak_kept"] for row in m["per_level"])
        assert m["cam_peak_kept"] == pytest.approx(100 * kept / len(m["copies"]))
    assert any("Q4" in q.source for q in part.questions) and any("Q5" in q.source for q in part.questions)


def test_the_chapter_report_is_built_from_the_metrics(jobs, tmp_path):
    ctx = Context(smoke=True, tolerance=1.0, primary="test_acc", direction="max", references={},
                  figures_dir=tmp_path)
    parts = []
    for experiment, results in jobs.items():
        kind = kinds.get(next(iter(results.values())).variant.kind)
        part = ExperimentPart(experiment, experiment, kind.name)
        kinds.resolve_function(kind.summarize)(part, results, ctx)
        vis_report.EXPERIMENTS[experiment](part, results, ctx)
        for figure in part.figures:
            assert Path(figure.path).exists(), figure.path
        parts.append(part)
    questions = [q for p in parts for q in p.questions]
    assert {q.source.split(", ")[0] for q in questions} == {"seed 003", "seed 000"}
    assert all(Path(e).exists() for q in questions for e in q.equations)
    summary = ChapterPart("visualization", "t", [], "smoke", parts)
    vis_report.discuss(summary, jobs)
    assert summary.discussion[0].startswith("This run is at smoke scale")
    assert "Smoke scale" in summary.conclusion[-1]


def result(name: str, runs: list[dict], iterations: int = 200) -> VariantResult:
    return VariantResult(Variant("visualization", "class_viz", name, {}), {"iterations": iterations,
                                                                           "runs": runs})


def run(**values) -> dict:
    return {"start": "noise", "target_name": "tarantula", "scores": [1.0] * 300, "snapshot_changes": {},
            "steps_to_p90": None, "steps_to_top1": None, "energy_share": 0.2, **values}


def test_the_seeds_class_visualisation_claims_follow_the_numbers():
    results = {"default": result("default", [run(steps_to_p90=120)]),
               "iter300": result("iter300", [run(scores=[1.0] * 200 + [1.02] * 100)], 300),
               "lr10": result("lr10", [run(steps_to_p90=None)]),
               "reg1e-2": result("reg1e-2", [run(energy_share=0.35)]),
               "from_image": result("from_image", [run(start="grace_hopper", steps_to_p90=3)])}
    holds = [c.holds for c in vis_report.class_viz_claims(results)]
    assert holds == [True, False, True, True]  # converged; lr 10 never reached 90 %; λ; photo start
    results["iter300"] = result("iter300", [run(scores=[1.0] * 200 + [2.0] * 100)], 300)
    assert vis_report.class_viz_claims(results)[0].holds is False  # the score still rises after 200


def test_config_and_references_describe_the_chapter():
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    experiments = config["chapters"]["visualization"]["experiments"]
    assert {e: sorted(x["variants"]) for e, x in experiments.items()} == {
        "saliency": ["squeezenet", "vgg16"], "adversarial": ["squeezenet"],
        "class_viz": sorted(["default", "iter300", "lr10", "reg1e-2", "from_image", "vgg16"]),
        "cam": ["contrast", "distortion", "original"]}
    cam_defaults = experiments["cam"]["defaults"]
    assert cam_defaults["assets"] == ["resnet18"] and cam_defaults["layer"] == "layer4"
    viz = experiments["class_viz"]
    assert (viz["defaults"]["lr"], viz["defaults"]["iterations"], viz["defaults"]["reg"]) == (5, 200, 0.001)
    references = yaml.safe_load((REPO / "references.yaml").read_text())
    assert "visualization" in references
    assert references["visualization"]["cam"]["contrast"][0]["value"] == 80
