"""The course's questions, discussion and conclusion of chapters `backprop` and `mnist`, from hand-made "
  "results."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from reprolab.chapters.backprop import jobs
from reprolab.chapters.backprop import questions as bq
from reprolab.chapters.backprop import report as backprop_report
from reprolab.chapters.mnist import questions as mq
from reprolab.chapters.mnist import report as mnist_report
from reprolab.models import build_model, count_parameters
from reprolab.registry import Variant
from reprolab.report.parts import NOT_ENOUGH_EPOCHS, ChapterPart, Context, ExperimentPart, VariantResult


def context(tmp_path, smoke=False):
    return Context(
        smoke=smoke,
        tolerance=1.0,
        primary="test_acc",
        direction="max",
        references={},
        figures_dir=Path(tmp_path),
    )


def history(epochs: int, test_loss=None) -> pd.DataFrame:
    """Epochs 0..N of a run whose losses fall (or follow `test_loss` for epochs 1..N)."""
    rows = []
    for e in range(epochs + 1):
        rows.append(
            {
                "epoch": e,
                "train_loss": 2.3 / (1 + e),
                "test_loss": (test_loss or {}).get(e, 2.3 / (1 + e)),
                "train_acc": 10.0 + 8 * e,
                "test_acc": 10.0 + 9 * e,
            }
        )
    return pd.DataFrame(rows)


def result(chapter, experiment, name, params, metrics, hist=None):
    return VariantResult(Variant(chapter, experiment, name, params), metrics, hist)


# ---------------------------------------------------------------- backprop


def circle_results(epochs=2, gap=0.0):
    results = {}
    for method in ("manual", "autograd", "nn", "optim"):
        h = history(epochs)
        if method == "optim":
            h["test_acc"] += gap
        results[method] = result(
            "backprop",
            "circle",
            method,
            {"kind": "scratch", "method": method, "hidden": [4], "activation": "tanh"},
            {
                "n_inputs": 2,
                "n_classes": 2,
                "n_train": 200,
                "n_test": 200,
                "params": 22,
                "train_acc": 70.0,
                "test_acc": float(h["test_acc"].iloc[-1]),
                "epochs": epochs,
            },
            h,
        )
    return results


def mnist_by_hand(hidden=100, epochs=2):
    sized = {"n_inputs": 784, "n_classes": 10, "n_train": 60000, "n_test": 10000, "epochs": epochs}
    mlp = {"kind": "scratch", "method": "manual", "hidden": [hidden], "activation": "sigmoid"}
    params = 784 * hidden + hidden + hidden * 10 + 10
    return {
        "logreg_manual": result(
            "backprop",
            "mnist",
            "logreg_manual",
            {"kind": "scratch", "method": "manual"},
            {**sized, "params": 7850, "train_acc": 92.0, "test_acc": 91.8},
            history(epochs),
        ),
        "mlp_manual": result(
            "backprop",
            "mnist",
            "mlp_manual",
            mlp,
            {
                **sized,
                "params": params,
                "train_acc": 98.0,
                "test_acc": 97.5,
                "distinct_hidden_units": hidden,
                "hidden_spread": 0.7,
            },
            history(epochs),
        ),
        "mlp_zero_init": result(
            "backprop",
            "mnist",
            "mlp_zero_init",
            {**mlp, "init": "zero"},
            {
                **sized,
                "params": params,
                "train_acc": 40.0,
                "test_acc": 39.0,
                "distinct_hidden_units": 1,
                "hidden_spread": 2e-9,
            },
            history(epochs),
        ),
    }


def svm_results(spread=1.0):
    sweep = [
        {"C": c, "train_acc": 90.0 + i, "test_acc": 95.0 + spread * (i % 2)}
        for i, c in enumerate([0.01, 1, 100])
    ]
    return {
        name: result(
            "backprop",
            "svm",
            name,
            {"kind": "svm"},
            {
                "kernel": name,
                "C": 1.0,
                "train_acc": acc,
                "test_acc": acc,
                "n_train": 200,
                "n_test": 200,
                "c_sweep": sweep if name == "rbf" else [],
            },
        )
        for name, acc in (("linear", 52.0), ("rbf", 95.5))
    }


def test_gradient_check_is_below_1e_6_and_catches_a_broken_backward(tmp_path, monkeypatch):
    q = bq.circle_gradients(circle_results(), context(tmp_path))
    [table] = q.tables
    worst = max(float(c) for row in table.rows for c in (row.cells[2], row.cells[4]))
    assert worst < 1e-6 and "below 1e-06" in q.answer
    assert [row.cells[0] for row in table.rows] == ["W0 (W_h)", "b0 (b_h)", "W1 (W_y)", "b1 (b_y)"]
    assert table.rows[0].cells[1] == "2 × 4"
    assert q.equations and all(Path(p).read_text().startswith("<?xml") for p in q.equations)

    real = jobs.backward

    def broken(params, outputs, probs, y, activation):  # tanh's derivative taken as the sigmoid's
        return real(params, outputs, probs, y, "sigmoid")

    monkeypatch.setattr(jobs, "backward", broken)
    q = bq.circle_gradients(circle_results(), context(tmp_path))
    assert "the hand-written gradient is wrong" in q.answer
    assert max(float(row.cells[2]) for row in q.tables[0].rows) > 1e-6


def test_logistic_regression_and_perceptron_gradients_are_checked_at_mnist_size(tmp_path):
    results = mnist_by_hand()
    logreg = bq.logreg_gradient(results, context(tmp_path))
    assert "below 1e-06" in logreg.answer and logreg.tables[0].rows[0].cells[1] == "784 × 10"
    assert "X^T (Ŷ − Y*)" in logreg.quote and logreg.source.startswith("seed 002, TP 1, ex. 1")
    mlp = bq.mlp_backward(results, context(tmp_path))
    assert "below 1e-06" in mlp.answer and "W_h 784 × 100, b_h 100, W_y 100 × 10, b_y 10" in mlp.answer


def test_hidden_size_changes_the_parameter_table_and_the_parameters_per_image(tmp_path):
    def backprop_total(hidden):
        q = bq.mlp_backward(mnist_by_hand(hidden), context(tmp_path))
        return q.tables[0].rows[-1].cells[-1], q.answer

    assert backprop_total(100)[0] == "79,510" and "(1.33 per training image" in backprop_total(100)[1]
    assert backprop_total(50)[0] == "39,760" and "W_h 784 × 50" in backprop_total(50)[1]

    def keras(hidden):
        results = keras_results(hidden=hidden)
        table = mq.mlp_parameters(results, context(tmp_path))
        ratio = mq.parameters_against_data(results, context(tmp_path))
        return table, ratio

    table, ratio = keras(100)
    assert table.tables[0].rows[-1].cells[-1] == "79,510" and "same counts" in table.answer
    assert "mlp 79,510 parameters for 60,000 images (1.33 per image)" in ratio.answer
    table, ratio = keras(50)
    assert table.tables[0].rows[-1].cells[-1] == "39,760" and "not ours" in table.answer
    assert "mlp 39,760 parameters for 60,000 images (0.66 per image)" in ratio.answer


def test_four_forms_report_their_largest_difference(tmp_path):
    same = bq.four_forms(circle_results(), context(tmp_path))
    assert "is 0.0e+00 (float rounding)" in same.answer and "span 0.00 points" in same.answer
    apart = bq.four_forms(circle_results(gap=2.0), context(tmp_path))
    assert "is 2.0e+00" in apart.answer and apart.tables[0].rows[3].cells[4] == "2.0e+00"


def test_c_question_holds_only_for_a_flat_sweep(tmp_path):
    flat = bq.c_impact(svm_results(spread=1.0), context(tmp_path))
    assert "holds for rbf" in flat.answer and flat.tables[0].rows[0].cells == ["0.01", "90.0", "95.0"]
    steep = bq.c_impact(svm_results(spread=8.0), context(tmp_path))
    assert "holds for no kernel" in steep.answer and "a range of 8.0 points" in steep.answer


def test_zero_initialisation_answer_uses_the_distinct_units_and_accuracies(tmp_path):
    q = bq.zero_init(mnist_by_hand(), context(tmp_path))
    assert "1 distinct hidden unit(s) of 100" in q.answer
    assert "39.00 %" in q.answer and "91.80 % for the logistic regression (-52.80 points)" in q.answer
    assert [row.cells[2] for row in q.tables[0].rows] == ["1", "—", "100"]


def test_convexity_is_shown_on_the_hessian_and_on_a_segment(tmp_path):
    q = bq.convexity(context(tmp_path))
    path = [float(row.cells[1]) for row in q.tables[0].rows]
    assert abs(path[0] - path[-1]) < 1e-6 and max(path) > path[0] + 0.1  # symmetric ends, a bump between
    assert "above the chord" in q.answer and "3 are zero" in q.answer


def test_backprop_smoke_discussion_judges_no_fitting(tmp_path):
    ctx = context(tmp_path, smoke=True)
    parts, results = [], {"circle": circle_results(), "svm": svm_results(), "mnist": mnist_by_hand()}
    for exp, res in results.items():
        part = ExperimentPart(exp, exp, "scratch")
        backprop_report.EXPERIMENTS[exp](part, res, ctx)
        parts.append(part)
    summary = ChapterPart("backprop", "", [], "smoke", parts)
    backprop_report.discuss(summary, results)
    text = " ".join(summary.discussion + summary.conclusion).lower()
    assert NOT_ENOUGH_EPOCHS in text and "overfit" not in text
    assert 2 <= len(summary.conclusion) <= 4 and "chance is 50 %" in text and "chance is 10 %" in text
    assert "smoke scale" in summary.conclusion[-1]


# ---------------------------------------------------------------- mnist


def keras_results(epochs=2, hidden=100):
    results = {}
    for name, model, options, acc in (
        ("logreg", "logreg", {}, 92.0),
        ("mlp", "mlp", {"hidden": hidden}, 97.5),
        ("cnn", "keras_cnn", {}, 99.0),
    ):
        params = count_parameters(build_model(model, **options))
        results[name] = result(
            "mnist",
            "keras_style",
            name,
            {"kind": "train", "model": model, "model_options": options, "batch_size": 100},
            {
                "input_shape": [1, 28, 28],
                "params": params,
                "n_train": 60000,
                "n_test": 10000,
                "train_acc": acc + 0.5,
                "test_acc": acc,
                "initial_loss": 2.31,
                "initial_acc": 9.8,
                "n_classes": 10,
                "epochs": epochs,
            },
            history(epochs),
        )
    return results


def dropout_results(epochs=2, rising=False):
    results = {}
    for name, swap, dropout in (
        ("main_1", False, True),
        ("main_2", True, True),
        ("main_3", True, False),
        ("main_4", False, False),
    ):
        rise = {e: 0.05 + 0.01 * max(0, e - epochs + 4) for e in range(1, epochs + 1)} if rising else None
        h = history(epochs, rise if name == "main_4" else None)
        params = {
            "kind": "train",
            "model": "dropout_cnn",
            "batch_size": 64,
            "swap_splits": swap,
            "model_options": {} if dropout else {"dropout": False},
        }
        n_train, n_test = (10000, 60000) if swap else (60000, 10000)
        results[name] = result(
            "mnist",
            "dropout_split",
            name,
            params,
            {
                "n_train": n_train,
                "n_test": n_test,
                "train_loss": float(h["train_loss"].iloc[-1]),
                "test_loss": float(h["test_loss"].iloc[-1]),
                "train_acc": 99.0,
                "test_acc": 98.0 - 2 * swap,
                "epochs": epochs,
            },
            h,
        )
    return results


def untangling_results():
    return {
        name: result(
            "mnist",
            "untangling",
            name,
            {"kind": "untangling", "representation": rep},
            {
                "n_points": 5000,
                "dimensions": dims,
                "neighbours": 6,
                "nh_pca": pca,
                "nh_tsne": tsne,
                "n_classes": 10,
                "nh_chance": 0.1,
            },
        )
        for name, rep, dims, pca, tsne in (
            ("raw", "pixels", 784, 0.45, 0.90),
            ("mlp_hidden", "keras_style/mlp", 100, 0.70, 0.95),
            ("cnn_penultimate", "keras_style/cnn", 100, 0.85, 0.98),
        )
    }


def mnist_summary(tmp_path, smoke, epochs, rising=False):
    ctx = context(tmp_path, smoke=smoke)
    results = {
        "keras_style": keras_results(epochs),
        "dropout_split": dropout_results(epochs, rising),
        "untangling": untangling_results(),
    }
    parts = []
    for exp, res in results.items():
        part = ExperimentPart(exp, exp, "train")
        if exp == "untangling":
            mnist_report.untangling(part, res, ctx)
        else:
            mnist_report.EXPERIMENTS[exp](part, res, ctx)
        parts.append(part)
    summary = ChapterPart("mnist", "", [], "smoke" if smoke else "full", parts)
    mnist_report.discuss(summary, results)
    return summary


def all_text(summary: ChapterPart) -> str:
    questions = [q.answer for p in summary.experiments for q in p.questions]
    notes = [o for p in summary.experiments for o in p.observations]
    return " ".join(summary.discussion + summary.conclusion + questions + notes)


def test_mnist_smoke_discussion_says_not_enough_epochs_and_no_overfitting(tmp_path):
    summary = mnist_summary(tmp_path, smoke=True, epochs=2, rising=True)
    text = all_text(summary)
    assert NOT_ENOUGH_EPOCHS in " ".join(summary.discussion)
    assert "overfit" not in text.lower() and "the over-fitting the seed saw" not in text
    assert "no model is ranked" in summary.conclusion[-1] and len(summary.conclusion) <= 4
    claims = [t for p in summary.experiments for t in p.tables if t.title.startswith("The seed's statements")]
    assert claims and not any("overfits" in row.cells[0] for row in claims[0].rows)
    [q4] = [q for p in summary.experiments for q in p.questions if q.source.endswith("q. 4")]
    assert NOT_ENOUGH_EPOCHS in q4.answer and "is not judged at smoke scale" in q4.answer


def test_mnist_discussion_judges_a_long_run(tmp_path):
    summary = mnist_summary(tmp_path, smoke=False, epochs=8, rising=True)
    text = " ".join(summary.discussion)
    assert "main_4's test loss rises over its last 4 epoch(s): the over-fitting the seed saw." in text
    assert "chance is 10 %" in text and "and ours do too" in text
    assert "mlp (79,510 parameters) +5.50 points over logreg" in text
    assert any(c.startswith("On MNIST, cnn is the best of the three") for c in summary.conclusion)
    [q4] = [q for p in summary.experiments for q in p.questions if q.source.endswith("q. 4")]
    assert "rises over the last 4 epoch(s): over-fitting, as the seed saw" in q4.answer
    short = mnist_summary(
        tmp_path, smoke=False, epochs=3, rising=True
    )  # fewer than 5 epochs: still not judged
    assert NOT_ENOUGH_EPOCHS in " ".join(short.discussion) and "overfit" not in all_text(short).lower()


def test_keras_tables_come_from_the_built_models(tmp_path):
    results = keras_results()
    cnn = mq.cnn_parameters(results, context(tmp_path))
    shapes = [row.cells[2] for row in cnn.tables[0].rows]
    assert shapes[:3] == ["16 × 24 × 24", "16 × 24 × 24", "16 × 12 × 12"] and "32 × 4 × 4" in shapes
    assert cnn.tables[0].rows[-1].cells[-1] == f"{results['cnn'].metrics['params']:,}"
    logreg = mq.logreg_parameters(results, context(tmp_path))
    assert "(784 + 1) × 10 = 7,850" in logreg.answer
    start = mq.chance_at_start(results, context(tmp_path))
    assert f"ln 10 = {math.log(10):.3f}" in start.answer and "10.0 %" in start.answer


def test_untangling_answers_compare_before_and_after_training(tmp_path):
    qs = mq.untangling_questions(untangling_results(), context(tmp_path))
    raw, learned = qs
    assert "0.900 with t-SNE and 0.450 with PCA: t-SNE separates better" in raw.answer
    assert "chance is 0.100" in raw.answer and "holds here" in raw.answer
    assert "mlp_hidden (100 dimensions) 0.950 (+0.050)" in learned.answer
    assert [row.cells[-1] for row in learned.tables[0].rows] == ["—", "+0.050", "+0.080"]


def test_every_question_quotes_the_french_course_and_cites_a_seed(tmp_path):
    ctx = context(tmp_path)
    questions = (
        bq.circle_questions(circle_results(), ctx)
        + bq.svm_questions(svm_results(), ctx)
        + bq.mnist_questions(mnist_by_hand(), ctx)
        + mq.keras_questions(keras_results(), ctx)
        + mq.dropout_questions(dropout_results(8), ctx)
        + mq.untangling_questions(untangling_results(), ctx)
    )
    assert len(questions) >= 20
    french = re.compile(r"\b(le|la|les|des|est|de|du|une|on)\b|[éèàùç]", re.I)
    for q in questions:
        assert q.quote.startswith("«") and q.quote.rstrip().endswith("»"), q.quote
        assert french.search(q.quote), q.quote
        assert re.match(r"seed 00[0-4], (TME|TP|ex\.)", q.source), q.source
        assert q.answer and not q.answer.startswith("«")


@pytest.mark.parametrize("template", ["backprop", "mnist"])
def test_templates_type_no_sizes(template):
    text = (
        Path(__file__).resolve().parents[1] / "report_templates" / "chapters" / f"{template}.html.j2"
    ).read_text()
    assert "Goal:" in text and not re.search(r"\d{2,}", text)
