import pandas as pd
import pytest
import yaml

from reprolab.chapters.backprop.report import mnist as backprop_mnist
from reprolab.chapters.mnist.report import dropout_split
from reprolab.errors import ReportError
from reprolab.registry import Variant
from reprolab.report.generic import initial_table, reference_tables
from reprolab.report.parts import (
    Context,
    ExperimentPart,
    Reference,
    VariantResult,
    load_references,
    verdict,
)
from reprolab.report.render import embed
from reprolab.report.summary import summarize_chapter
from tests.conftest import REPO


def ref(**bound):
    return Reference(metric="test_acc", source="seed 002", section="TP 2", **bound)


@pytest.mark.parametrize("ours, reference, smoke, direction, expected", [
    (92.0, ref(value=92.43), False, "max", "matches"),
    (95.0, ref(value=92.43), False, "max", "better"),
    (80.0, ref(value=92.43), False, "max", "worse"),
    (80.0, ref(value=92.43), False, "min", "better"),  # a loss or a perplexity: lower is better
    (65.0, ref(max=70), False, "max", "matches"),
    (75.0, ref(max=70), False, "max", "outside the bound"),
    (80.0, None, False, "max", "no reference"),
    (10.0, ref(value=92.43), True, "max", "n/a (smoke scale)"),
    (None, ref(value=92.43), False, "max", "missing"),
])
def test_verdict(ours, reference, smoke, direction, expected):
    assert verdict(ours, reference, tolerance=1.0, smoke=smoke, direction=direction)[0] == expected


def test_every_reference_names_its_source():
    references = load_references(REPO / "references.yaml", REPO / "references.schema.yaml")
    entries = [r for ch in references.values() for exp in ch.values() for refs in exp.values() for r in refs]
    assert len(entries) > 20
    assert all(r.source.startswith("seed ") and r.section for r in entries)
    assert all(r.split for r in entries if r.metric.endswith(("_acc", "_loss")))


def test_keras_test_losses_and_epoch_one_accuracies_are_references():
    references = load_references(REPO / "references.yaml", REPO / "references.schema.yaml")
    keras = references["mnist"]["keras_style"]
    losses = {name: next(r for r in keras[name] if r.metric == "test_loss") for name in ("mlp", "cnn")}
    assert (losses["mlp"].value, losses["cnn"].value) == (0.0831, 0.0272)
    assert all(r.source == "seed 002" and r.section.startswith("TP 2") and r.split == "test"
               for r in losses.values())
    optim = {r.metric: r.value for r in references["backprop"]["mnist"]["mlp_optim"]}
    assert (optim["epoch1_train_acc"], optim["epoch1_test_acc"]) == (85.7, 86.2)


def result(name, metrics, history=None, chapter="mnist", experiment="dropout_split"):
    """A hand-made result of a `train` variant, with a history from {column: values of epochs 0..N}."""
    frame = None if history is None else pd.DataFrame({"epoch": range(len(next(iter(history.values())))),
                                                      **history})
    return VariantResult(Variant(chapter, experiment, name, {"kind": "train"}), metrics, frame)


def context(tmp_path, references=None, smoke=False):
    return Context(smoke=smoke, tolerance=1.0, primary="test_acc", direction="max",
                   references=references or {}, figures_dir=tmp_path)


def test_references_besides_the_primary_metric_get_their_tables(tmp_path):
    cite = {"source": "seed 004", "section": "TME 3-4"}
    references = {"manual": [Reference("test_acc", value=94.0, split="test", **cite),
                             Reference("train_acc", value=94.5, split="train", **cite)],
                  "mlp_optim": [Reference("epoch1_test_acc", value=86.2, split="test", **cite)],
                  "cnn": [Reference("test_loss", value=0.0272, split="test", note="«loss: 2.72%»", **cite)]}
    results = {"manual": result("manual", {"test_acc": 93.0, "train_acc": 95.0}),
               "mlp_optim": result("mlp_optim", {"test_acc": 92.0}, {"test_acc": [9.0, 80.0, 90.0]}),
               "cnn": result("cnn", {"test_acc": 99.0, "test_loss": 0.0401})}
    tables = {t.title.split(":")[0]: t for t in reference_tables(results, context(tmp_path, references))}
    assert set(tables) == {"Train acc. (%)", "Test acc. (%) after epoch 1", "Test loss"}
    [manual] = tables["Train acc. (%)"].rows
    assert manual.cells[:3] == ["manual", "95.00", "94.5"] and manual.verdict == "matches"
    [optim] = tables["Test acc. (%) after epoch 1"].rows
    assert optim.cells[1] == "80.00" and optim.cells[4] == "-6.20" and optim.verdict == "worse"
    [cnn] = tables["Test loss"].rows
    assert cnn.cells[4] == "+0.0129" and cnn.verdict == "worse"  # 0.01 of tolerance on losses
    assert "«loss: 2.72%»" in cnn.cells[3] and "within 0.01" in tables["Test loss"].title


def test_initial_loss_and_accuracy_are_checked_against_chance(tmp_path):
    results = {"uniform": result("uniform", {"initial_loss": 2.31, "initial_acc": 9.8, "n_classes": 10}),
               "confident": result("confident", {"initial_loss": 3.6, "initial_acc": 11.0, "n_classes": 10}),
               "circle": result("circle", {"initial_loss": 0.70, "initial_acc": 48.0, "n_classes": 2}),
               "no_epoch_zero": result("no_epoch_zero", {"test_acc": 50.0})}
    table = initial_table(results, context(tmp_path))
    rows = {row.cells[0]: row for row in table.rows}
    assert set(rows) == {"uniform", "confident", "circle"}
    assert rows["uniform"].cells[3:5] == ["2.303", "+0.007"] and rows["uniform"].verdict == "matches"
    assert rows["confident"].verdict == "differs"
    assert rows["circle"].cells[3] == "0.693" and rows["circle"].cells[6] == "50.0"
    smoke = initial_table(results, context(tmp_path, smoke=True))
    assert {row.verdict for row in smoke.rows} == {"n/a (smoke scale)"}


def test_dropout_split_checks_the_seed_statements(tmp_path):
    def run(train, test, acc):
        return {"train_loss": [2.3, *train], "test_loss": [2.3, *test], "test_acc": [10.0, *acc]}

    flat = [0.05, 0.04, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02]
    histories = {  # main_4: no dropout, its test loss rises over the last 4 epochs, as the seed saw
        "main_1": run([0.2, *flat[1:]], [0.06, 0.05, 0.04, 0.04, 0.035, 0.033, 0.032, 0.031], [99.0] * 8),
        "main_2": run([0.1, *flat[1:]], [0.20, 0.15, 0.12, 0.11, 0.10, 0.10, 0.10, 0.10], [97.0] * 8),
        "main_3": run([0.05, *[v / 2 for v in flat[1:]]], [0.15] * 8, [96.0] * 8),
        "main_4": run([0.1, *[v / 4 for v in flat[1:]]], [0.05, 0.04, 0.03, 0.028, 0.03, 0.031, 0.032, 0.033],
                      [99.2] * 8)}
    results = {name: result(name, {"train_acc": 100.0, "test_acc": h["test_acc"][-1],
                                   "train_loss": h["train_loss"][-1], "test_loss": h["test_loss"][-1]}, h)
               for name, h in histories.items()}
    part = ExperimentPart("dropout_split", "", "train")
    dropout_split(part, results, context(tmp_path))
    effect, claims = part.tables
    without_with = effect.rows[0].cells
    assert without_with[:4] == ["main_4 vs main_1", "the 60k training split", "99.20 vs 99.00", "+0.20"]
    assert without_with[5:] == ["+0.0020", "4 / 0"] and effect.rows[1].cells[0] == "main_3 vs main_2"
    assert [row.cells[1] for row in claims.rows] == ["seed 000, ex. 1, q. 4", "seed 000, ex. 1, q. 4",
                                                     "seed 000, ex. 1, q. 2", "seed 000, ex. 1, q. 3",
                                                     "seed 000, ex. 1, q. 5"]
    assert "rises over its last 4 epoch(s)" in claims.rows[0].cells[2] and claims.rows[0].verdict == "holds"
    assert claims.rows[1].verdict == "holds"  # epoch 1: main_4 0.1 / 0.05 below main_1 0.2 / 0.06
    assert [row.verdict for row in claims.rows[2:]] == ["holds", "holds", "holds"]
    assert any("main_4's test loss rises over its last 4 epochs" in note for note in part.observations)


def test_zero_initialisation_claim_is_checked(tmp_path):
    def check(zero_acc):
        results = {name: result(name, {"test_acc": acc}, chapter="backprop", experiment="mnist")
                   for name, acc in (("logreg_manual", 91.6), ("mlp_zero_init", zero_acc))}
        part = ExperimentPart("mnist", "", "scratch")
        backprop_mnist(part, results, context(tmp_path))
        [row] = part.tables[0].rows
        assert row.cells[1] == "seed 002, TP 1, ex. 2" and "«La performance en initialisant" in row.cells[0]
        return row

    far = check(35.2)
    assert far.verdict == "does not hold" and "(-56.40 points; equal within 1)" in far.cells[2]
    assert check(91.0).verdict == "holds"


def test_a_reference_without_source_is_refused(tmp_path):
    bad = tmp_path / "references.yaml"
    bad.write_text("mnist: {keras_style: {cnn: [{metric: test_acc, value: 99.14}]}}\n")
    with pytest.raises(ReportError, match=r"mnist/keras_style/cnn/0: 'source' is a required property"):
        load_references(bad, REPO / "references.schema.yaml")


def test_missing_figure_fails_the_report(tmp_path):
    with pytest.raises(ReportError, match="missing"):
        embed(tmp_path / "curves.png")


def test_missing_result_names_the_command(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    with pytest.raises(ReportError, match=r"snakemake .*keras_style/logreg/metrics.json"):
        summarize_chapter(config, "mnist", tmp_path, {}, tmp_path / "figures")


def test_weasyprint_missing_image_fails_the_pdf(tmp_path):
    from reprolab.report.render import write_pdf

    with pytest.raises(ReportError, match="nope.png"):
        write_pdf('<html><body><img src="nope.png"></body></html>', tmp_path / "r.pdf", tmp_path)
    assert not (tmp_path / "r.pdf").exists()


def test_report_building_blocks_import_no_chapter_and_chapters_never_import_the_loop():
    """No import cycle: chapters use report.parts/generic; only the loop looks chapters up, by name."""
    import subprocess
    import sys

    code = ("import sys, reprolab.report.parts, reprolab.report.generic\n"
            "assert not [m for m in sys.modules if m.startswith('reprolab.chapters')]\n"
            "import reprolab.chapters.backprop.report, reprolab.chapters.mnist.report\n"
            "import reprolab.chapters.cifar.report, reprolab.chapters.audio.report\n"
            "import reprolab.chapters.fusion.report\n"
            "assert 'reprolab.report.summary' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
