"""The Method part: settings in words, networks layer by layer from the built model, seed's or ours."""

import re

import yaml
from torch import nn

from reprolab.models import MODELS, Classifier, _register_all, build_model, count_parameters
from reprolab.registry import Variant, variants
from reprolab.report.generic import SETUP_COLUMNS, train
from reprolab.report.method import (
    model_words,
    network_table,
    optimizer_words,
    origins_sentence,
    origins_table,
    train_method,
)
from reprolab.report.origins import chapter_origins, setting_origins, whose
from reprolab.report.parts import Context, ExperimentPart, VariantResult
from tests.conftest import REPO

AVMNIST = {"image": [1, 28, 28], "audio": [1, 112, 112]}
INPUTS = {"logreg": [1, 28, 28], "mlp": [1, 28, 28], "keras_cnn": [1, 28, 28], "dropout_cnn": [1, 28, 28],
          "tanh_mlp": [1, 28, 28], "lenet5_tanh": [1, 28, 28], "cifar_cnn": [3, 32, 32],
          "audio_cnn": [1, 40, 128],
          "image_lenet5": AVMNIST, "audio_lenet": AVMNIST, "early_fusion": AVMNIST,
          "intermediate_fusion": AVMNIST, "multibench_concat": AVMNIST}


def context(tmp_path):
    return Context(smoke=True, tolerance=1.0, primary="test_acc", direction="max", references={},
                   figures_dir=tmp_path)


def fake_result(variant: Variant, input_shape=None) -> VariantResult:
    """A `train` variant's result as training writes it (sizes, parameter count, input shape)."""
    p = variant.params
    model = build_model(p["model"], **p.get("model_options", {}))
    n_train, n_test = (200, 600) if p.get("swap_splits") else (600, 200)
    metrics = {"n_train": n_train, "n_test": n_test, "params": count_parameters(model), "test_acc": 10.0}
    if input_shape is not None:
        metrics["input_shape"] = input_shape
    return VariantResult(variant, metrics)


def summarised(tmp_path, chapter: str, experiment: str, with_shapes: bool = True) -> ExperimentPart:
    """The part `generic.train` makes of one experiment of config.yaml, from made-up metrics."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    results = {v.name: fake_result(v, INPUTS[v.params["model"]] if with_shapes else None)
               for v in variants(config, chapter) if v.experiment == experiment}
    part = ExperimentPart(experiment, experiment, "train")
    train(part, results, context(tmp_path))
    return part


def rows_by_label(table) -> dict[str, list[str]]:
    return {row.cells[0]: row.cells for row in table.rows}


def test_every_network_table_totals_count_parameters():
    _register_all()
    assert set(INPUTS) <= set(MODELS)
    for name, shape in INPUTS.items():
        model = build_model(name)
        table = network_table(model, shape, name)
        total = rows_by_label(table)["total"]
        assert total[3] == f"{count_parameters(model):,}", name
        assert "other" not in rows_by_label(table), f"{name}: every parameter is in a listed layer"
        listed = sum(int(row.cells[3].replace(",", "")) for row in table.rows[1:-1] if row.cells[3] != "—")
        assert listed == count_parameters(model), name


def test_cifar_network_receptive_fields_and_folded_activations():
    table = network_table(build_model("cifar_cnn"), [3, 32, 32], "CIFAR")
    rows = rows_by_label(table)
    fields = [rows[name][4] for name in ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3")]
    assert fields == ["5×5", "6×6", "14×14", "16×16", "32×32", "36×36"]
    assert rows["conv1"][1] == "convolution 5×5, 3 → 32 channels, padding 2, + ReLU"
    assert rows["conv1"][2:4] == ["32 × 32 × 32", "2,432"]
    assert rows["fc4"][1].startswith("flatten, fully connected 1024 → 1000, + ReLU") and rows["fc4"][4] == "—"
    assert rows["total"][3] == "1,191,170"
    assert len(table.rows) == 10  # input, 3 × (conv, pool), fc4, fc5, total: no row per activation


def test_changing_a_layer_changes_the_method_table(tmp_path):
    """Batch norm on, in config: other rows, other parameters; a builder with one more layer: one more row."""
    base = Variant("cifar", "cifar10", "plain", {"kind": "train", "model": "cifar_cnn", "dataset": "cifar10",
                                                 "batch_size": 128, "epochs": 2, "seeds": [0],
                                                 "optimizer": {"name": "sgd", "lr": 0.1}})
    norm = base._replace(name="bn", params={**base.params, "model_options": {"batchnorm": True}})
    results = {v.name: fake_result(v, [3, 32, 32]) for v in (base, norm)}
    part = ExperimentPart("cifar10", "CIFAR-10", "train")
    train(part, results, context(tmp_path))
    plain, bn = (rows_by_label(t) for t in part.method_tables)
    assert "batch normalisation" not in plain["conv2"][1] and "batch normalisation" in bn["conv2"][1]
    assert (plain["conv2"][3], bn["conv2"][3]) == ("51,264", "51,392")  # + 2 × 64 scale and shift
    assert bn["total"][3] == f"{count_parameters(build_model('cifar_cnn', batchnorm=True)):,}"
    assert "batch normalisation" in part.method_tables[1].title

    def toy(extra: bool = False) -> Classifier:
        """A toy network. Test only."""
        layers = [nn.Conv2d(3, 8, 3), nn.ReLU()] + ([nn.Conv2d(8, 8, 3), nn.ReLU()] if extra else [])
        return Classifier(nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(8, 10))

    shapes = {}
    for extra in (False, True):
        MODELS["toy_for_test"] = lambda extra=extra: toy(extra)
        try:
            toy_variant = base._replace(params={**base.params, "model": "toy_for_test"})
            table = network_table(build_model("toy_for_test"), [3, 32, 32], "toy")
            toy_part = ExperimentPart("toy", "toy", "train")
            train(toy_part, {"plain": fake_result(toy_variant, [3, 32, 32])}, context(tmp_path))
        finally:
            del MODELS["toy_for_test"]
        assert [r.cells for r in toy_part.method_tables[0].rows] == [r.cells for r in table.rows]
        shapes[extra] = [row.cells[2] for row in table.rows if row.cells[0].startswith("conv")]
    assert shapes == {False: ["8 × 30 × 30"], True: ["8 × 30 × 30", "8 × 28 × 28"]}


def test_setup_and_method_speak_words_not_registry_names(tmp_path):
    for chapter, experiment in (("cifar", "cifar10"), ("mnist", "keras_style"), ("mnist", "dropout_split"),
                                ("fusion", "models"), ("audio", "spectrogram_cnn")):
        part = summarised(tmp_path, chapter, experiment)
        models = part.setup.columns.index("model")
        texts = [row.cells[models] for row in part.setup.rows] + part.method \
            + [t.title.split(": the network")[0] for t in part.method_tables]
        for text in texts:
            assert not [name for name in MODELS if re.search(rf"\b{name}\b", text)], text
            assert not re.search(r"\b(True|False)\b|=|_", text), text
    cifar = summarised(tmp_path, "cifar", "cifar10")
    assert "batch" not in cifar.setup.columns and "epochs" not in cifar.setup.columns  # said once, in words
    assert {"variant", "model", "parameters", "data", "optimiser"} <= set(cifar.setup.columns)
    rows = {row.cells[0]: row.cells for row in cifar.setup.rows}
    model = cifar.setup.columns.index("model")
    assert rows["batchnorm"][model] == "28×28 input, dropout 0.5, batch normalisation"
    # the builder's defaults where another variant sets the option:
    assert rows["baseline"][model] == "32×32 input, no dropout, no batch normalisation"
    assert rows["momentum_expdecay"][cifar.setup.columns.index("optimiser")] == \
        "SGD, learning rate 0.1, momentum 0.9, exponential decay ×0.95 per epoch"
    method = " ".join(cifar.method)
    assert "Data: CIFAR-10, 600 training and 200 test examples; one example is 3 × 32 × 32." in method
    assert "Network: the TME's CIFAR-10 CNN, with the options of the setup table" in method
    assert "mini-batches of 128" in method and "the optimiser and its schedule" in method
    assert len(cifar.method_tables) == 4  # plain, 28×28 crop, + dropout, + batch norm
    assert len(cifar.setup.columns) < len(SETUP_COLUMNS)


def test_shared_settings_are_said_once_and_dropout_split_names_what_varies(tmp_path):
    part = summarised(tmp_path, "mnist", "dropout_split")
    method = " ".join(part.method)
    assert "Adadelta, learning rate 1, step decay ×0.7 every epoch" in method
    assert "inputs are standardised per channel" in method.lower()
    assert "the splits" in method and "the network" in method  # swapped splits, dropout on/off vary
    assert {"train / test", "model", "data"} <= set(part.setup.columns)


def test_fusion_method_names_the_validation_split_and_each_network(tmp_path):
    part = summarised(tmp_path, "fusion", "models")
    method = " ".join(part.method)
    assert "one example is image 1 × 28 × 28, audio 1 × 112 × 112" in method
    assert "the last fifth of the training split is held out for validation (5,000 examples" in method
    assert "the epoch best on validation is the model tested" in method
    assert "Network: one per variant (setup table)" in method
    assert len(part.method_tables) == 5
    [late] = [t for t in part.method_tables if t.title.startswith("Intermediate fusion")]
    rows = rows_by_label(late)
    assert rows["image pool2"][1:3] == ["max pooling 2×2, + flatten", "400"]  # each branch, numbered apart
    assert rows["audio conv1"][4] == "5×5" and rows["audio pool4"][2] == "512"
    assert rows["fc1"][1].startswith("the branches merged (Concat), fully connected 912 → 120")


def test_results_without_input_shape_get_a_sentence_not_a_table(tmp_path):
    part = summarised(tmp_path, "mnist", "keras_style", with_shapes=False)
    assert part.method_tables == []
    assert any("re-run their training" in p for p in part.method)


def test_optimizer_words():
    assert optimizer_words({"name": "sgd", "lr": 0.01, "momentum": 0.9},
                           {"name": "exponential", "gamma": 0.95}) \
        == "SGD, learning rate 0.01, momentum 0.9, exponential decay ×0.95 per epoch"
    assert optimizer_words({"name": "sgd", "lr": 0.1, "momentum": 0.9},
                           {"name": "step", "step_size": 10, "gamma": 0.5}) \
        == "SGD, learning rate 0.1, momentum 0.9, step decay ×0.5 every 10 epochs"
    assert optimizer_words({"name": "sgd", "lr": 0.1, "weight_decay": 0.0001, "clip_grad_norm": 8.0}) \
        == "SGD, learning rate 0.1, weight decay 0.0001, gradient norm clipped at 8"
    assert model_words("dropout_cnn", {"dropout": False}) == "The CNN of PyTorch's MNIST example, no dropout"


SMALL = """\
# a header, not a setting's
chapters:
  toy:
    experiments:
      exp:
        title: "a # inside quotes is no comment"
        defaults:
          epochs: 20               # seed: "sur 20 époques"
          # seed silent: our choice, which the seed
          # never gives
          batch_size: 64
          optimizer: {name: sgd, lr: 0.1}  # seed: lr 0.1; seed silent: plain SGD
          split: seed              # seed: "750 échantillons"; seed silent: stratified
                                   # by digit (our choice)
          dataset: toy             # tiny, no mark
        variants:
          a: {}                    # the seed's network
          b: {model_options: {pool: true}}  # ours, not the seed's
          c:                       # seed 004 1.3.5: the TME's network
            lr: 0.3                # silent: the TME's 0.03 on a summed loss
data:
  prepare:
    toy:
      n_fft: 256                   # seed silent (not given): 32 ms windows
"""


def test_seed_or_ours_is_read_from_the_comments():
    origins = setting_origins(SMALL)
    at = {path.removeprefix("chapters/toy/experiments/exp/"): o for path, o in origins.items()}
    assert "title" not in at and at["chapters"].whose is None  # a header comment marks nothing
    assert (at["defaults/epochs"].value, at["defaults/epochs"].whose) == ("20", "seed")
    assert at["defaults/batch_size"].comment == "seed silent: our choice, which the seed never gives"
    assert at["defaults/batch_size"].whose == "ours"
    assert at["defaults/optimizer"].value == "{name: sgd, lr: 0.1}"
    assert at["defaults/optimizer"].whose == "seed and ours"
    assert at["defaults/split"].comment.endswith("by digit (our choice)")  # continued on the aligned line
    assert at["defaults/dataset"].whose is None
    assert [at[f"variants/{v}"].whose for v in "abc"] == ["seed", "ours", "seed"]
    assert at["variants/c"].value == "" and at["variants/c/lr"].whose == "ours"
    assert "variants/b/model_options" not in at  # one comment per line: the variant's
    assert whose("|ours - reference| in points") == "ours" and whose("cap on every variant's epochs") is None

    table = origins_table(chapter_origins(origins, "toy"), "exp", ["toy"])
    rows = {row.cells[0]: row.cells[1:] for row in table.rows}
    assert rows["epochs"] == ["20", "seed", 'seed: "sur 20 époques"']
    assert rows["batch size"][1] == "ours" and rows["variant c: lr"][:2] == ["0.3", "ours"]
    assert rows["toy preparation: n fft"][:2] == ["256", "ours"]
    assert "dataset" not in rows  # a comment that marks neither is not a mark
    assert "Of the 9 settings config.yaml marks for this experiment, 3 are the seed's, 4 ours (the seed is " \
           "silent) and 2 partly each" in origins_sentence(table)
    assert origins_table(chapter_origins(origins, "toy"), "exp", []) is not None
    assert origins_table(chapter_origins(origins, "toy"), "other", []) is None


def test_config_yaml_marks_reach_the_cifar_method():
    origins = chapter_origins(setting_origins((REPO / "config.yaml").read_text()), "cifar")
    rows = {row.cells[0]: row.cells for row in origins_table(origins, "cifar10", ["cifar10"]).rows}
    assert rows["epochs"][2] == "seed" and rows["optimizer"][1:3] == ["{name: sgd, lr: 0.1}", "seed"]
    assert rows["variant dropout: model options"][2] == "ours"
    assert rows["variant momentum_stepdecay: scheduler"][2] == "seed and ours"
    assert all(len(row[3]) <= 152 for row in rows.values())  # quotes shortened
    audio = chapter_origins(setting_origins((REPO / "config.yaml").read_text()), "audio")
    fsdd = {row.cells[0]: row.cells for row in origins_table(audio, "spectrogram_cnn", ["fsdd"]).rows}
    assert fsdd["fsdd preparation: n mels"][2] == "ours" and fsdd["variant cnn"][2] == "seed"


def test_train_method_is_empty_without_train_variants(tmp_path):
    scratch = VariantResult(Variant("backprop", "circle", "manual", {"kind": "scratch"}), {})
    assert train_method({"manual": scratch}) == []
