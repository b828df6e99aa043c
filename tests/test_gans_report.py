"""The gans chapter's report: scores ranked, unstable trainings named from the losses, none at smoke."""

import numpy as np
import pandas as pd
import pytest
import yaml

from reprolab.chapters.gans import report
from reprolab.registry import variants
from reprolab.report.parts import NOT_ENOUGH_EPOCHS, ChapterPart, Context, ExperimentPart, VariantResult
from tests.conftest import REPO

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
EPOCHS = 10


def steps_csv(folder, d_loss, g_loss, batches=40):
    rows = [{"epoch": 1 + b // 4, "batch": 1 + b % 4, "step": 2 * b + k, "network": net, "loss": loss}
            for b in range(batches) for k, (net, loss) in enumerate((("discriminator", d_loss(b)),
                                                                      ("generator", g_loss(b))))]
    (folder / "seed0").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "seed0" / "steps.csv", index=False)


def dcgan_results(tmp_path, fids: dict, unstable: str) -> dict[str, VariantResult]:
    history = pd.DataFrame({"epoch": range(EPOCHS + 1), "train_d_fake": np.linspace(0.5, 0.02, EPOCHS + 1),
                            "train_d_real": 0.8, "seconds": 1.0})
    results = {}
    for v in variants(CONFIG, "gans"):
        if v.experiment != "dcgan_celeba":
            continue
        bad = v.name == unstable
        m = {"score": "fid", "test_fid": fids[v.name], "train_fid": fids[v.name] - 1, "fid_real": 2.0,
             "fid_samples": 10_000, "fid_image_size": 299,
             "fid_weights": "pt_inception-2015-12-05-6726825d.pth",
             "diversity": 0.9, "epochs": EPOCHS, "steps": 40, "d_loss_first": 1.4, "g_loss_first": 0.7,
             "d_loss_median_end": 0.02 if bad else 0.9, "d_loss_iqr_end": 0.01 if bad else 0.3,
             "g_loss_median_end": 7.5 if bad else 2.0, "g_loss_iqr_end": 1.0,
             "d_loss_near_zero": 90.0 if bad else 0.0, "g_loss_above_6": 85.0 if bad else 0.0,
             "initial_d_real": 0.5, "initial_d_fake": 0.5, "initial_d_loss": 1.386, "initial_g_loss": 0.693,
             "params_generator": 3_576_704, "params_discriminator": 2_765_568, "latent_dim": 100,
             "image_shape": [3, 64, 64], "n_train": 162_770, "n_test": 19_962, "grid_change": [0.2, 0.01]}
        folder = tmp_path / v.name
        d, g = (0.02, 7.5) if bad else (0.9, 2.0)
        steps_csv(folder, lambda b, d=d: d, lambda b, g=g: g)
        results[v.name] = VariantResult(v, m, history, folder)
    return results


def context(tmp_path, smoke: bool) -> Context:
    return Context(smoke=smoke, tolerance=1.0, primary="test_fid", direction="min", references={},
                   figures_dir=tmp_path / "figures")


FIDS = {"default": 30.0, "beta1_0.9": 80.0, "g5_d1": 55.0, "d5_g1": 20.0}


def summarise(tmp_path, smoke: bool):
    results = dcgan_results(tmp_path, FIDS, unstable="beta1_0.9")
    ctx = context(tmp_path, smoke)
    part = ExperimentPart("dcgan_celeba", "DCGAN", "gan")
    report.gan(part, results, ctx)
    report.dcgan_celeba(part, results, ctx)
    summary = ChapterPart("gans", "GANs", [], "smoke" if smoke else "full", [part])
    report.discuss(summary, {"dcgan_celeba": results})
    return part, summary


def test_variants_are_ranked_and_the_unstable_one_is_named(tmp_path):
    part, summary = summarise(tmp_path, smoke=False)
    ranking = next(t for t in part.tables if t.title.startswith("The variants ranked"))
    assert [row.cells[1] for row in ranking.rows] == ["d5_g1", "default", "g5_d1", "beta1_0.9"]
    training = {row.cells[1]: row.cells[-1] for row in ranking.rows}
    assert training["beta1_0.9"].startswith("unstable: D's loss collapses to about 0")
    assert "G's loss stays above 6" in training["beta1_0.9"]
    assert all(training[n].startswith("stable") for n in ("default", "g5_d1", "d5_g1"))
    text = " ".join(summary.discussion)
    assert "d5_g1 20.00, default 30.00, g5_d1 55.00, beta1_0.9 80.00" in text
    assert "Unstable from the logged losses: beta1_0.9" in text and NOT_ENOUGH_EPOCHS not in text
    assert "our FIDs agree for 3 of 3" in text  # the seed: beta1 0.9 and g5_d1 worse, d5_g1 better
    assert any("best FID is d5_g1's, 20.00" in c for c in summary.conclusion)


def test_the_seeds_statements_are_checked_against_the_runs(tmp_path):
    part, _ = summarise(tmp_path, smoke=False)
    claims = next(t for q in part.questions for t in q.tables if t.title.startswith("The seed's statements"))
    verdicts = [row.verdict for row in claims.rows]
    assert verdicts[:3] == ["holds", "holds", "holds"]  # beta1 0.9: worse, D near 0, G above 6
    assert verdicts[-1] == "holds"  # d5_g1 better than the default


def test_nothing_is_judged_at_smoke_scale(tmp_path):
    part, summary = summarise(tmp_path, smoke=True)
    ranking = next(t for t in part.tables if t.title.startswith("The variants ranked"))
    assert {row.cells[-1] for row in ranking.rows} == {NOT_ENOUGH_EPOCHS}
    assert any(NOT_ENOUGH_EPOCHS in o for o in part.observations)
    assert not any("unstable" in o for o in part.observations)
    assert "Unstable" not in " ".join(summary.discussion)
    claims = next(t for q in part.questions for t in q.tables if t.title.startswith("The seed's statements"))
    assert {row.verdict for row in claims.rows} == {"n/a (smoke scale)"}


def test_the_figures_are_the_grids_and_the_losses_not_accuracy_curves(tmp_path):
    part, _ = summarise(tmp_path, smoke=False)
    names = [f.path.rsplit("/", 1)[-1] for f in part.figures]
    assert names.count("samples.png") == names.count("evolution.png") == 4
    assert "dcgan_celeba_losses.png" in names and "curves.png" not in names
    assert (tmp_path / "figures" / "dcgan_celeba_losses.png").is_file()
    assert len(part.method_tables) == 2  # the generator and the discriminator, shared by every variant
    assert part.method_tables[0].rows[-1].cells[3] == "3,576,704"


def test_saturation_answer_uses_the_logged_discriminator_outputs(tmp_path):
    part, _ = summarise(tmp_path, smoke=False)
    answer = next(q.answer for q in part.questions if "vraie" in q.quote)
    assert "as low as 0.020" in answer and "49.0 times as much" in answer


@pytest.mark.parametrize("smoke", [False, True])
def test_discussion_handles_a_missing_experiment(tmp_path, smoke):
    summary = ChapterPart("gans", "GANs", [], "smoke" if smoke else "full", [])
    report.discuss(summary, {"dcgan_celeba": dcgan_results(tmp_path, FIDS, unstable="none")})
    assert summary.conclusion and ("No run's losses collapse." in summary.discussion[0]) != smoke
