"""Chapters `cifar`, `audio` and `fusion`: the course's questions answered from the built networks and the
results, and the discussion and conclusion written from the numbers."""

import re

import pandas as pd
import pytest
import yaml

from reprolab.chapters.audio import report as audio
from reprolab.chapters.cifar import report as cifar
from reprolab.chapters.fusion import report as fusion
from reprolab.models import build_model, count_parameters
from reprolab.registry import deep_merge, variants
from reprolab.report.parts import (
    NOT_ENOUGH_EPOCHS,
    ChapterPart,
    Context,
    ExperimentPart,
    VariantResult,
    load_references,
)
from tests.conftest import REPO

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
REFERENCES = load_references(REPO / "references.yaml", REPO / "references.schema.yaml")
FRENCH = re.compile(r"\b(le|la|les|de|des|du|est|une|et|en)\b|[éèàêç]")


def context(tmp_path, chapter, experiment, smoke=False):
    return Context(smoke=smoke, tolerance=1.0, primary="test_acc", direction="max",
                   references=REFERENCES.get(chapter, {}).get(experiment, {}), figures_dir=tmp_path)


def history(test_acc: list[float], test_loss: list[float], train_acc: list[float] | None = None,
            lr: float = 0.1) -> pd.DataFrame:
    """Epochs 0..N: epoch 0 at chance, then the given values."""
    n = len(test_acc)
    train_acc = train_acc or [a - 5 for a in test_acc]
    return pd.DataFrame({"epoch": range(n + 1), "train_acc": [10.0, *train_acc],
                         "test_acc": [10.0, *test_acc], "train_loss": [2.3, *[1.0] * n],
                         "test_loss": [2.303, *test_loss], "lr": [lr] * (n + 1)})


def results_of(chapter: str, experiment: str, histories: dict[str, pd.DataFrame], overrides=None,
               **metrics) -> dict[str, VariantResult]:
    """The config's variants of one experiment with hand-made histories; metrics from the built networks."""
    config = deep_merge(CONFIG, overrides or {})
    out = {}
    for v in variants(config, chapter):
        if v.experiment != experiment or v.name not in histories:
            continue
        h = histories[v.name]
        model = build_model(v.params["model"], **v.params.get("model_options", {}))
        last = h.iloc[-1]
        out[v.name] = VariantResult(v, {
            "test_acc": float(last["test_acc"]), "train_acc": float(last["train_acc"]),
            "test_loss": float(last["test_loss"]), "params": count_parameters(model),
            "initial_loss": 2.303, "initial_acc": 10.0, "n_classes": 10, **metrics}, h)
    return out


def texts(part: ExperimentPart, summary: ChapterPart | None = None) -> list[str]:
    """Everything we write (answers, observations, table cells and titles, discussion), not the quotes."""
    found = [*part.observations, *(q.answer for q in part.questions)]
    for table in [*part.tables, *(t for q in part.questions for t in q.tables)]:
        found += [table.title, *(cell for row in table.rows for cell in row.cells)]
    if summary:
        found += summary.discussion + summary.conclusion
    return found


def question(part: ExperimentPart, source_end: str):
    [found] = [q for q in part.questions if q.source.endswith(source_end)]
    return found


# --- cifar ---------------------------------------------------------------------------------------------

LADDER_ACC = {"baseline": 64.0, "normalized": 70.0, "augmented": 78.0, "augmented_alt": 75.0,
              "momentum_expdecay": 79.0, "momentum_stepdecay": 50.0, "dropout": 80.0, "batchnorm": 84.0}


def cifar_run(epochs: int) -> dict[str, VariantResult]:
    """Every CIFAR-10 variant; the baseline's test loss falls to epoch 3, then rises (overfitting)."""
    histories = {}
    for name, acc in LADDER_ACC.items():
        accs = [acc - (epochs - e) for e in range(1, epochs + 1)]
        losses = [1.2 - 0.05 * e for e in range(1, epochs + 1)]
        if name == "baseline":
            losses = [1.2, 1.0, 0.9, *[0.9 + 0.15 * k for k in range(1, epochs - 2)]][:epochs]
        histories[name] = history(accs, losses)
    return results_of("cifar", "cifar10", histories, n_train=50_000, n_test=10_000, input_shape=[3, 32, 32])


def cifar_summary(tmp_path, epochs: int, smoke: bool) -> tuple[ExperimentPart, ChapterPart]:
    results = cifar_run(epochs)
    part = ExperimentPart("cifar10", "", "train")
    cifar.cifar10(part, results, context(tmp_path, "cifar", "cifar10", smoke))
    summary = ChapterPart("cifar", "", [], "smoke" if smoke else "full", [part])
    cifar.discuss(summary, {"cifar10": results})
    return part, summary


def test_the_layer_answer_follows_the_network_the_variant_builds(tmp_path):
    def table(options):
        h = {"baseline": history([30.0], [2.0])}
        results = results_of("cifar", "cifar10", h, {"chapters": {"cifar": {"experiments": {"cifar10": {
            "variants": {"baseline": {"model_options": options}}}}}}}, input_shape=[3, 32, 32])
        reference = context(tmp_path, "cifar", "cifar10").reference("baseline", "params")
        q = cifar.sizes_question(results, reference)
        return q, {row.cells[0]: row.cells for row in q.tables[0].rows}

    q, rows = table({})
    assert rows["conv1"][2] == "32 × 32 × 32" and rows["pool3"][2] == "64 × 4 × 4"
    assert rows["fc4"][3] == f"{1024 * 1000 + 1000:,}" and rows["pool1"][3] == "0"
    assert rows["total"][3] == f"{count_parameters(build_model('cifar_cnn')):,}" == "1,191,170"
    assert rows["total"][4] == "267,258" and rows["pool3"][6] == "36×36"
    assert "(32 + 2·2 − 5)/1 + 1 = 32" in q.answer and "32 → 16 → 8 → 4" in q.answer
    q, rows = table({"input_size": 28})  # the network of the augmented variants: fc4 sees 64 x 3 x 3
    assert rows["pool3"][2] == "64 × 3 × 3" and rows["fc4"][3] == f"{576 * 1000 + 1000:,}"
    assert "64 × 3 × 3 = 576 values" in q.answer and f"{743_170:,} parameters" in q.answer
    q, rows = table({"batchnorm": True})
    assert rows["bn1"][3] == "64" and rows["total"][3] == f"{1_191_170 + 2 * (32 + 64 + 64):,}"


def test_the_fc4_share_is_the_computed_ratio():
    results = results_of("cifar", "cifar10", {"baseline": history([30.0], [2.0])}, input_shape=[3, 32, 32])
    q = cifar.conv_share_question(results)
    counts = cifar.layer_parameters(build_model("cifar_cnn"))
    total, convs = sum(counts.values()), counts["conv1"] + counts["conv2"] + counts["conv3"]
    assert f"fc4 alone {counts['fc4']:,} ({100 * counts['fc4'] / total:.1f} %" in q.answer
    assert f"{convs:,} parameters ({100 * convs / total:.1f} % of {total:,})" in q.answer
    rows = {row.cells[0]: row.cells for row in q.tables[0].rows}
    assert rows["fc4"][2] == f"{100 * counts['fc4'] / total:.1f}" == "86.0"
    # multiply-adds: each conv weight at every output position, each fc weight once
    conv1 = 5 * 5 * 3 * 32 * 32 * 32
    convs = conv1 + 5 * 5 * 32 * 64 * 16 * 16 + 5 * 5 * 64 * 64 * 8 * 8
    assert int(rows["total"][3].replace(",", "")) == convs + 1024 * 1000 + 1000 * 10


def test_smoke_scale_makes_no_fitting_claim(tmp_path):
    part, summary = cifar_summary(tmp_path, epochs=10, smoke=True)  # the baseline's test loss does rise
    written = texts(part, summary)
    assert not [t for t in written if re.search(r"overfit", t, re.I)]
    assert NOT_ENOUGH_EPOCHS in question(part, "Réponse 18").answer
    assert any(NOT_ENOUGH_EPOCHS in t for t in summary.discussion)
    assert any(NOT_ENOUGH_EPOCHS in t for t in summary.conclusion)
    assert all(q.answer.endswith("say nothing about the model.") for q in part.questions
               if "Réponse" in q.source and q.source.split()[-1] in ("17", "18", "19", "22"))


def test_few_epochs_make_no_fitting_claim(tmp_path):
    part, summary = cifar_summary(tmp_path, epochs=4, smoke=False)
    assert not [t for t in texts(part, summary) if re.search(r"overfit", t, re.I)]
    assert NOT_ENOUGH_EPOCHS in question(part, "Réponse 18").answer


def test_enough_epochs_judge_the_baselines_overfitting(tmp_path):
    part, summary = cifar_summary(tmp_path, epochs=10, smoke=False)
    q = question(part, "Réponse 18")
    assert q.answer.startswith("Yes.") and "lowest at epoch 3 of 10 (0.900)" in q.answer
    baseline = q.tables[0].rows[0]
    assert baseline.cells[0] == "baseline" and baseline.cells[-1] == "test loss rises: overfitting"
    assert {row.cells[-1] for row in q.tables[0].rows[1:]} == {"no clear rise"}
    assert any("As the seed found, the baseline overfits." in t for t in summary.discussion)
    assert NOT_ENOUGH_EPOCHS not in " ".join(texts(part, summary))


def test_each_improvement_is_measured_against_its_step_and_the_seeds(tmp_path):
    part, summary = cifar_summary(tmp_path, epochs=6, smoke=False)
    ladder = {row.cells[0]: row for row in next(t for t in part.tables if t.title == cifar.LADDER_TITLE).rows}
    assert set(ladder) == set(cifar.LADDER)
    augmented = ladder["augmented"]  # ours 70 -> 78; the seed's 76.15 -> 80.16
    assert augmented.cells[2:5] == ["normalized", "78.00", "+8.00"] and augmented.cells[6] == "+4.01"
    assert augmented.verdict == "matches" and "augmentation: crop 28, hflip true" in augmented.cells[1]
    assert ladder["momentum_expdecay"].verdict == "differs"  # ours +1.00, the seed's -0.63
    step = ladder["momentum_stepdecay"]  # the seed gives a bound, ≤ 55
    assert step.cells[6] == "≤ -24.53" and step.verdict == "matches"
    assert ladder["normalized"].verdict == "no reference"  # the seed's baseline is only a bound
    step = question(part, "Réponse 22")
    assert "78.00 % against 70.00 %" in step.answer and "+8.00 points" in step.answer
    assert "+4.01 points; the same direction" in step.answer
    assert "5 of 6 go in the same direction: momentum_expdecay does not." in summary.discussion[0]
    assert "the largest single step is augmented (+8.00 points)" in summary.conclusion[0]


def test_chance_at_epoch_zero_and_the_network_facts(tmp_path):
    part, summary = cifar_summary(tmp_path, epochs=2, smoke=True)
    chance = question(part, "(the seed's «erreur» is the accuracy)")
    assert "ln 10 = 2.303 and 10.0 %" in chance.answer and chance.tables[0].rows[0].cells[0] == "baseline"
    fields = question(part, "Réponse 7").answer
    assert "3, 4 and 8 pixels" in fields
    assert "conv1 5, pool1 6, conv2 14, pool2 16, conv3 32, pool3 36" in fields
    dense = question(part, "Réponse 1").answer
    assert f"{3072 * 32768 + 32768:,} weights, against 2,432" in dense
    size = question(part, "Réponse 11").answer
    assert f"{1_191_170 / 50_000:,.1f} parameters per image" in size
    dropout = question(part, "Réponse 33").answer
    assert "multiplied by 2.000 = 1/(1 − p)" in dropout and "p = 0.5" in dropout
    assert summary.conclusion[1] == ("The network has 1,191,170 parameters, 86.0 % of them in fc4; the "
                                     "seed's 267,258 is wrong.")


def test_mnist_baseline_answers_why_test_beats_train_after_epoch_one(tmp_path):
    h = history([90.0, 95.0], [0.3, 0.2], train_acc=[80.0, 94.0])
    results = results_of("cifar", "mnist_baseline", {"baseline": h})
    part = ExperimentPart("mnist_baseline", "", "train")
    cifar.mnist_baseline(part, results, context(tmp_path, "cifar", "mnist_baseline"))
    [q] = part.questions
    assert q.source.endswith("Réponse 14 (the TME's MNIST code)") and "for 1 of 1 variant(s)" in q.answer
    assert "train loss 1.0000, test loss 0.3000" in q.answer


# --- audio ---------------------------------------------------------------------------------------------

def audio_results(epochs=2, options=None, **metrics):
    h = {name: history([60.0 + e for e in range(epochs)], [1.0] * epochs, train_acc=[50.0] * epochs)
         for name in ("cnn", "cnn_pooled")}
    overrides = {"chapters": {"audio": {"experiments": {"spectrogram_cnn": {"defaults": {
        "model_options": options or {}}}}}}}
    return results_of("audio", "spectrogram_cnn", h, overrides, n_train=2250, n_test=750, **metrics)


def test_audio_network_answer_is_computed_from_the_spectrogram_size(tmp_path):
    part = ExperimentPart("spectrogram_cnn", "", "train")
    audio.spectrogram_cnn(part, audio_results(input_shape=[1, 40, 128]), context(tmp_path, "audio", "x"))
    network = part.questions[0]
    rows = {row.cells[0]: row.cells for row in network.tables[0].rows}
    linear = 32 * 40 * 128 * 10 + 10
    total = count_parameters(build_model("audio_cnn"))
    assert rows["cnn"][3] == f"{32 * 40 * 128:,}" and rows["cnn"][5] == f"{linear:,}"
    assert rows["cnn"][6] == f"{100 * linear / total:.1f}" and rows["cnn"][8] == f"{total / 2250:,.0f}"
    assert rows["cnn_pooled"][2].endswith("32 × 10 × 32")
    # another spectrogram size changes the answer
    part = ExperimentPart("spectrogram_cnn", "", "train")
    results = audio_results(options={"n_mels": 64, "width": 100}, input_shape=[1, 64, 100])
    audio.spectrogram_cnn(part, results, context(tmp_path, "audio", "x"))
    assert "64 mel bands × 100 frames" in part.questions[0].answer
    rows = {row.cells[0]: row.cells for row in part.questions[0].tables[0].rows}
    assert rows["cnn"][3] == f"{32 * 64 * 100:,}"


def test_audio_epoch_one_statement_and_smoke_discussion(tmp_path):
    results = audio_results()
    part = ExperimentPart("spectrogram_cnn", "", "train")
    audio.spectrogram_cnn(part, results, context(tmp_path, "audio", "x", smoke=True))
    epoch_one = part.questions[-1]
    assert "cnn, epoch 1: test 60.00 % against train 50.00 % (test above train, as the seed saw)" \
        in epoch_one.answer
    summary = ChapterPart("audio", "", [], "smoke", [part])
    audio.discuss(summary, {"spectrogram_cnn": results})
    assert not [t for t in texts(part, summary) if re.search(r"overfit", t, re.I)]
    assert any(NOT_ENOUGH_EPOCHS in t for t in summary.discussion)
    assert 2 <= len(summary.conclusion) <= 4 and "chance 10 %" in summary.conclusion[0]


# --- fusion --------------------------------------------------------------------------------------------

def fusion_results(accs: dict[str, float]):
    h = {name: history([acc - 1, acc], [1.0, 0.9]) for name, acc in accs.items()}
    return results_of("fusion", "models", h, n_train=55_000, n_test=10_000, best_epoch=2,
                      input_shape={"image": [1, 28, 28], "audio": [1, 112, 112]})


ACCS = {"image_lenet5": 65.0, "audio_lenet": 42.0, "early_fusion": 68.0, "intermediate_fusion": 71.0,
        "multibench_concat": 70.0}


def test_fusion_networks_are_justified_from_their_built_models(tmp_path):
    results = fusion_results(ACCS)
    part = ExperimentPart("models", "", "train")
    fusion.models(part, results, context(tmp_path, "fusion", "models"))
    sources = [q.source.split(", ")[-1] for q in part.questions]
    assert sources == ["§ 1", "§ 2.3", "§ 2.3", "§ 2.4", "§ 2.5", "§ 2.6"]
    rows = {row.cells[0]: row.cells for row in part.questions[0].tables[0].rows}
    assert rows["intermediate_fusion"][3] == "912" and rows["multibench_concat"][7] == "260,922"
    early = question(part, "§ 2.4").answer
    image, both = count_parameters(build_model("image_lenet5")), count_parameters(build_model("early_fusion"))
    assert f"{both - image:+,} against image_lenet5" in early
    assert f"{(784 + 112 * 112) * 120 + 120:,} parameters" in early
    assert "+3.00 points: higher, as the TP expects." in early
    assert "400 (image) + 512 (audio) = 912 values" in question(part, "§ 2.5").answer
    comparison = question(part, "§ 2.6").answer
    assert "Pareto-optimal" in comparison and "Consistent with size" in comparison


def test_fusion_discussion_and_avmnist_difficulty(tmp_path):
    models = fusion_results(ACCS)
    data_part = ExperimentPart("data", "", "avmnist_samples")
    models_part = ExperimentPart("models", "", "train")
    samples = VariantResult(next(v for v in variants(CONFIG, "fusion") if v.experiment == "data"),
                            {"image_nearest_mean_acc": 40.0, "audio_nearest_mean_acc": 30.0})
    summary = ChapterPart("fusion", "", [], "full", [data_part, models_part])
    fusion.discuss(summary, {"data": {"samples": samples}, "models": models})
    [difficulty] = data_part.questions
    assert difficulty.source.endswith("§ 2.2") and difficulty.answer.startswith("Harder, for the images.")
    assert f"65.00 % on AV-MNIST's images, against {fusion.MNIST_LENET5.value:g} % on plain MNIST" \
        in difficulty.answer and f"{65.0 - fusion.MNIST_LENET5.value:+.2f} points" in difficulty.answer
    assert "3 of 3 fusions beat the best single modality" in summary.discussion[0]
    assert summary.conclusion[0].startswith("The best network is intermediate_fusion, 71.00 %")
    assert summary.conclusion[-1] == ("Fusing the modalities helps: the best fusion, intermediate_fusion, is "
                                      "+6.00 points from the best single modality, image_lenet5.")
    smoke = ChapterPart("fusion", "", [], "smoke", [ExperimentPart("data", "", "x")])
    fusion.discuss(smoke, {"data": {"samples": samples}, "models": models})
    assert "not judged at smoke scale" in smoke.discussion[0]
    assert not smoke.experiments[0].questions[0].answer.startswith("Harder")
    assert any(NOT_ENOUGH_EPOCHS in c for c in smoke.conclusion)


# --- all three -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("chapter", ["cifar", "audio", "fusion"])
def test_questions_quote_the_course_in_french_and_cite_a_seed(tmp_path, chapter):
    if chapter == "cifar":
        part, _ = cifar_summary(tmp_path, epochs=2, smoke=True)
        seed = "seed 004"
    elif chapter == "audio":
        part = ExperimentPart("spectrogram_cnn", "", "train")
        audio.spectrogram_cnn(part, audio_results(), context(tmp_path, "audio", "x"))
        seed = "seed 000"
    else:
        part = ExperimentPart("models", "", "train")
        fusion.models(part, fusion_results(ACCS), context(tmp_path, "fusion", "models"))
        seed = "seed 001"
    assert len(part.questions) >= 3
    for q in part.questions:
        assert q.source.startswith(seed), q.source
        assert len(FRENCH.findall(q.quote)) >= 3, q.quote
        assert re.search(r"\d", q.answer), q.answer  # answered with numbers
        assert "{" not in q.answer and "}" not in q.answer


def test_the_seed_counts_are_not_typed_into_the_answers():
    """The numbers in the answers come from the built networks: no literal parameter count in the code."""
    for module in (cifar, audio, fusion):
        source = open(module.__file__).read()
        for count in ("1,191,170", "1191170", "1,025,000", "743,170", "1,643,210", "260,922", "61,706"):
            assert count not in source, (module.__name__, count)
        assert "2.303" not in source  # ln 10 is computed
