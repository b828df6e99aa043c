"""Chapter `sequences`: the char-RNN's text, network, sampling and job; the caption words' GloVe rows."""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from reprolab.chapters.sequences import text as txt
from reprolab.chapters.sequences.glove import caption_embeddings
from reprolab.chapters.sequences.jobs import charrnn, probe
from reprolab.data.assets import write_asset_fixture
from reprolab.data.assets.corpora import read_gutenberg
from reprolab.kinds import Job
from reprolab.models import build_model, count_parameters
from reprolab.models.sequences import SimpleRNN, keras_rnn_parameters, torch_rnn_parameters
from reprolab.registry import resolve
from tests.conftest import REPO

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
START = CONFIG["chapters"]["sequences"]["experiments"]["charrnn"]["defaults"]["corpus"]["start"]
REAL_BOOK = Path(os.environ.get("REPROLAB_FLEURS_FILE", "/work/shared/data/fleurs_du_mal/fleurs_mal.txt"))


def test_char_rnn_has_the_seeds_parameter_count_for_60_symbols():
    model = build_model("char_rnn", n_symbols=60, hidden=128)
    assert count_parameters(model) == 31_932  # seed 002 TP 4, figure 16
    assert count_parameters(model.rnn) == 24_192 == keras_rnn_parameters(60, 128)
    assert count_parameters(model.head) == 7_740
    assert torch_rnn_parameters(60, 128) == sum(p.numel() for p in nn.RNN(60, 128).parameters())
    # the count follows the alphabet: 2 more symbols, 2 more input rows and 2 more outputs
    assert count_parameters(build_model("char_rnn", n_symbols=62)) == 31_932 + 2 * 128 + 2 * 129


def test_simple_rnn_is_an_elman_network_with_one_bias():
    torch.manual_seed(0)
    ours = SimpleRNN(7, 5, return_sequences=True)
    nn.init.normal_(ours.bias)
    reference = nn.RNN(7, 5, batch_first=True)
    with torch.no_grad():
        reference.weight_ih_l0.copy_(ours.weight_ih)
        reference.weight_hh_l0.copy_(ours.weight_hh)
        reference.bias_ih_l0.copy_(ours.bias)
        reference.bias_hh_l0.zero_()
    x, h0 = torch.randn(3, 4, 7), torch.randn(3, 5)
    expected, last = reference(x, h0[None])
    assert torch.allclose(ours(x, h0), expected, atol=1e-6)
    ours.return_sequences = False
    assert torch.allclose(ours(x, h0), last[0], atol=1e-6)
    # Keras' masking: a masked step keeps (and repeats) the previous state
    mask = torch.tensor([[True, True, False, False]] * 3)
    ours.return_sequences = True
    masked = ours(x, h0, mask)
    assert torch.equal(masked[:, 2], masked[:, 1]) and torch.equal(masked[:, 3], masked[:, 1])
    assert torch.allclose(masked[:, :2], expected[:, :2], atol=1e-6)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("assets") / "fleurs_du_mal"
    write_asset_fixture("fleurs_du_mal", folder)
    return folder


def test_the_fixture_is_cut_as_the_course_cuts_the_book(corpus):
    body = read_gutenberg(corpus / "pg6099.txt")  # header and footer gone, by their markers
    assert body.startswith("Produced by") and "Project Gutenberg" not in body
    text = txt.course_text(body, START)
    assert text.startswith("charles baudelaire avait un ami") and text.endswith("l'empêchent de marcher.")
    assert "[illustration]" not in text and "produced by" not in text and "  " not in text
    assert text == text.lower() and "\n" not in text and "\r" not in text


@pytest.mark.skipif(not REAL_BOOK.is_file(), reason="the real ebook is not on this machine")
def test_the_real_book_gives_the_catalogues_text_and_sequences():
    body = read_gutenberg(REAL_BOOK)
    assert "*** START" not in body and "*** END" not in body and "End of the Project Gutenberg" not in body
    text = txt.course_text(body, START)
    assert len(text) == 146_176 and len(set(text)) == 60
    symbols = sorted(set(text))
    x, y = txt.windows(torch.tensor([symbols.index(c) for c in text]), 10)
    assert len(x) == 146_166 and txt.train_size(len(x), 0.8) == 116_933
    assert "".join(symbols[i] for i in x[15_608]) == "souvent, p"  # both seed samples start there
    # the seed's probe: «la mort de» is followed by a space twice in the training part
    model = build_model("char_rnn", n_symbols=60)
    found = probe(model, "la mort de", symbols, x, y, 116_933)
    assert found["train_targets"] == [" ", " "] and len(found["predictions"]) == 3


def test_a_text_without_the_course_start_is_refused():
    from reprolab.errors import DataError

    with pytest.raises(DataError, match="no line of the ebook holds"):
        txt.course_text("LES FLEURS DU MAL\nAU LECTEUR\n", START)


def test_windows_and_targets():
    ids = torch.arange(15)
    x, y = txt.windows(ids, 10)
    assert x.shape == (5, 10) and torch.equal(x[0], torch.arange(10)) and torch.equal(y, torch.arange(10, 15))


def test_temperature_sampling_is_deterministic_from_its_seed():
    torch.manual_seed(0)
    model = build_model("char_rnn", n_symbols=12, hidden=16)
    prime = [1, 2, 3, 4, 5]
    a = txt.generate(model, prime, 60, 1.0, 12, seed=3)
    assert a == txt.generate(model, prime, 60, 1.0, 12, seed=3)
    assert a != txt.generate(model, prime, 60, 1.0, 12, seed=4)
    torch.manual_seed(99)  # the global generator plays no part
    assert a == txt.generate(model, prime, 60, 1.0, 12, seed=3)


def test_tempered_probabilities_follow_the_seeds_formula_without_underflow():
    logits = torch.tensor([2.0, 1.0, 0.5, -3.0])
    p = torch.softmax(logits.double(), 0)
    for t in (0.5, 1.0, 10.0):
        expected = p ** (1 / t) / (p ** (1 / t)).sum()
        assert torch.allclose(txt.tempered(logits, t), expected)
    cold = txt.tempered(logits, 0.02)  # p^50 underflows float32 for the smaller ones, not in log space
    assert cold.dtype == torch.float64 and torch.isfinite(cold).all() and cold[0] > 0.999999
    assert (txt.tempered(logits, 1e6) - 0.25).abs().max() < 1e-5  # T -> infinity: uniform


def test_facts_of_generated_text():
    looped = "il était une fois " + "de la vie en mon coeur sous les plus " * 6
    facts = txt.text_facts(looped, {"de", "la", "vie", "en", "mon", "coeur", "sous", "les", "plus"})
    assert facts["loop_period"] == len("de la vie en mon coeur sous les plus ")
    assert facts["words"] == 4 + 9 * 6 and facts["words_in_corpus"] == 9 * 6
    assert txt.loop_period("abcdefghij" * 3) is None  # too short to say
    assert txt.text_facts("aaaa", set())["char_entropy_bits"] == 0.0


def fixture_job(corpus: Path, out: Path, **overrides) -> Job:
    config = {**CONFIG, "device": "cpu", "seeds": [0]}
    variant = resolve(config, "sequences", "charrnn", "simple_rnn")
    variant.params.update(overrides)
    names = ("metrics.json", "history.csv", "curves.png", "samples.json")
    outputs = {n.split(".")[0]: out / n for n in names}
    return Job(variant, {"asset_fleurs_du_mal": corpus / "manifest.json"}, outputs)


def test_the_charrnn_job_on_the_fixture_book(corpus, tmp_path):
    generation = {"prime_index": 15_608, "prime": "souvent, p", "length": 50, "temperatures": [0.02, 1.0]}
    metrics = charrnn(fixture_job(corpus, tmp_path / "a", epochs=1, generation=generation))
    symbols = metrics["symbols"]
    assert metrics["n_symbols"] == len(symbols) == metrics["n_classes"]
    assert metrics["params"] == keras_rnn_parameters(len(symbols), 128) + 129 * len(symbols)
    assert metrics["n_train"] == round(0.8 * metrics["n_sequences"])
    assert 0 <= metrics["train_eval_acc"] <= 100 and metrics["train_eval_loss"] > 0  # «PERFS TRAIN»
    assert (tmp_path / "a" / "seed0" / "model.pt").is_file() and (tmp_path / "a" / "curves.png").is_file()
    samples = json.loads((tmp_path / "a" / "samples.json").read_text())
    assert samples["prime_from"].startswith("the first training sequence spelling")  # no sequence 15,608 here
    assert [s["prime"] for s in samples["samples"]] == ["souvent, p"] * 2
    assert all(len(s["text"]) == 50 and set(s["text"]) <= set(symbols) for s in samples["samples"])
    again = charrnn(fixture_job(corpus, tmp_path / "b", epochs=1, generation=generation))
    assert json.loads((tmp_path / "b" / "samples.json").read_text()) == samples  # same seed, same text
    assert again["test_acc"] == metrics["test_acc"]


def test_glove_rows_of_the_caption_words(tmp_path):
    write_asset_fixture("glove6b", tmp_path)
    captions = [["A dog runs in the snow .", "The black dog ."], ["A cat sits near the sea ."]]
    built = caption_embeddings(captions, tmp_path / "glove.6B.zip", 100)
    words, rows, facts = built["words"], built["vectors"], built["facts"]
    assert words[-2:] == ["<start>", "<end>"] and rows.shape == (len(words), 102)
    assert set(words[:-2]) == {"a", "dog", "in", "the", "snow", ".", "black", "cat", "sea"}  # known to GloVe
    assert torch.allclose(rows.norm(dim=1), torch.ones(len(words)), atol=1e-6)
    assert torch.equal(rows[-2], torch.eye(102)[100]) and torch.equal(rows[-1], torch.eye(102)[101])
    assert (rows[:-2, 100:] == 0).all()
    assert facts["caption_words"] == 12 and facts["found_in_glove"] == 9
    assert dict(map(tuple, facts["most_frequent_missing"])) == {"runs": 1, "sits": 1, "near": 1}
    assert facts["occurrences_covered_pct"] == pytest.approx(100 * 15 / 18)


@pytest.mark.realdata
@pytest.mark.timeout(7200)
@pytest.mark.skipif(not REAL_BOOK.is_file(), reason="set REPROLAB_FLEURS_FILE to Gutenberg's ebook 6099")
def test_real_book_trains_the_seeds_char_rnn(tmp_path):
    """sequences/charrnn/simple_rnn at full settings on one CPU thread (about 6 minutes of CPU time)."""
    folder = tmp_path / "fleurs_du_mal"
    folder.mkdir()
    (folder / "pg6099.txt").symlink_to(REAL_BOOK.resolve())
    (folder / "manifest.json").write_text(json.dumps({"files": [{"name": "pg6099.txt"}]}))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cpu = time.process_time()
        metrics = charrnn(fixture_job(folder, tmp_path / "out"))
        cpu = time.process_time() - cpu
    finally:
        torch.set_num_threads(threads)
    print(f"\nLes Fleurs du mal, {metrics['params']:,} parameters: train accuracy "
          f"{metrics['train_acc']:.2f} %, "
          f"test {metrics['test_acc']:.2f} % after {metrics['epochs']} epochs; CPU time {cpu:.0f} s")
    assert metrics["params"] == 31_932 and metrics["test_acc"] > 40
    assert np.isfinite(metrics["test_loss"])
