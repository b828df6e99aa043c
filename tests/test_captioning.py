"""Chapter `captioning`: Flickr8k's release read from real-format fixtures, the kept vocabulary, padding and
masking, the PCA's fit set, BLEU on hand-computed cases, decoding, the network's size, escaped captions."""

import zipfile
from dataclasses import asdict

import pytest
import torch
from bs4 import BeautifulSoup

from reprolab.chapters.captioning import data as cap
from reprolab.chapters.captioning.jobs import reduce_images
from reprolab.data.datasets import flickr8k
from reprolab.data.fixtures import write_fixture
from reprolab.data.prepare import prepare_dataset
from reprolab.engine import Split
from reprolab.engine.tasks import make_task
from reprolab.models import build_model, count_parameters
from reprolab.models.captioning import decode
from reprolab.report.parts import ChapterPart, ExperimentPart, Text
from reprolab.report.render import numbered, render_html
from tests.conftest import REPO


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    raw, out = tmp_path_factory.mktemp("flickr8k_raw"), tmp_path_factory.mktemp("flickr8k")
    write_fixture("flickr8k", raw, 100, 50)
    prepare_dataset("flickr8k", raw, out, {"size": 32})
    return raw, out


def test_the_fixture_has_the_releases_layout(prepared):
    raw, _ = prepared
    with zipfile.ZipFile(raw / flickr8k.TEXT_ZIP) as zf:
        names = set(zf.namelist())
        token = zf.read(flickr8k.TOKEN_FILE).decode()
    assert {flickr8k.TOKEN_FILE, *flickr8k.SPLIT_FILES.values()} <= names
    first = token.splitlines()[0]
    assert first.split("\t")[0].endswith(".jpg#0") and first.split("\t")[1][0].isupper()
    with zipfile.ZipFile(raw / flickr8k.IMAGES_ZIP) as zf:
        assert all(n.startswith(f"{flickr8k.IMAGES_FOLDER}/") and n.endswith(".jpg") for n in zf.namelist())


def test_preparation_reads_the_captions_and_the_photos(prepared):
    _, out = prepared
    captions = torch.load(out / "captions.pt", weights_only=True)
    train, test = (torch.load(out / f"{s}.pt", weights_only=True) for s in ("train", "test"))
    assert {s: len(c["names"]) for s, c in captions.items()} == {"train": 10, "dev": 5, "test": 5}
    assert all(len(five) == 5 for c in captions.values() for five in c["captions"])
    assert captions["test"]["names"][0] == "452419961_6d42ab7000.jpg"
    assert captions["test"]["captions"][0][0] == "Three children in a black dog kennel ."
    assert not any(n.endswith(".jpg.1") for c in captions.values() for n in c["names"])  # the stray name
    assert train["x"].shape == (10, 3, 32, 32) and train["x"].dtype == torch.uint8
    assert test["x"].shape == (5, 3, 32, 32) and torch.equal(test["y"], torch.arange(5))
    assert not (out / "dev.pt").exists()  # the seed leaves dev unused: no photos prepared


def test_the_token_file_is_parsed_by_caption_number():
    text = "b.jpg#1\tsecond\nb.jpg#0\tfirst\n\na.jpg#0\tA caption .\n"
    assert flickr8k.read_token_file(text) == {"b.jpg": ["first", "second"], "a.jpg": ["A caption ."]}
    from reprolab.errors import DataError

    with pytest.raises(DataError, match="line 1"):
        flickr8k.read_token_file("no tab here\n")


def test_kept_vocabulary_and_encoding():
    captions = [["A dog runs .", "A black dog ."], ["The dog zzz"]]
    counts = cap.word_counts(captions)
    assert counts["<start>"] == counts["<end>"] == 3 and counts["dog"] == 3 and counts["a"] == 2
    known = ["the", ",", ".", "a", "dog", "black", "runs", "<start>", "<end>"]  # no vector for "zzz"
    vocabulary = cap.kept_vocabulary(counts, known, 6)
    assert vocabulary == ["dog", "<start>", "<end>", ".", "a", "the"]  # by frequency, ties in file order
    encoded = cap.encode(captions, vocabulary)
    ids = {w: i for i, w in enumerate(vocabulary)}
    # "A dog runs ." -> <start> a dog . <end> ("runs" not kept): 4 steps; the longest sets the length
    assert encoded.length == 4 and encoded.steps.tolist() == [4, 4, 3]
    assert encoded.words[0].tolist() == [ids["<start>"], ids["a"], ids["dog"], ids["."]]
    assert encoded.targets[0].tolist() == [ids["a"], ids["dog"], ids["."], ids["<end>"]]
    assert encoded.mask.tolist() == [[True] * 4, [True] * 4, [True, True, True, False]]
    assert encoded.image.tolist() == [0, 0, 1]
    cut = cap.encode(captions, vocabulary, length=2)  # the test tensors keep the training length
    assert cut.words.shape == (3, 2) and cut.mask.all() and cut.steps.tolist() == [4, 4, 3]


def tiny_model(vocabulary=7, image_dim=4, word_dim=5, hidden=6):
    torch.manual_seed(0)
    model = build_model("show_and_tell", vocabulary=vocabulary, image_dim=image_dim, word_dim=word_dim,
                        hidden=hidden)
    model.word_vectors.copy_(torch.randn(vocabulary, word_dim))
    return model


def batch(seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False], [True, False, False, False, False]])
    words = torch.randint(0, 7, (3, 5), generator=g)
    targets = torch.randint(0, 7, (3, 5), generator=g)
    return Split({"image": torch.randn(3, 4, generator=g), "words": words, "mask": mask}, targets)


@pytest.mark.parametrize("per_sequence", [False, True])
def test_a_padded_step_never_counts_in_the_loss_or_the_accuracy(per_sequence):
    model = tiny_model()
    task = make_task("masked_sequence", model, {"name": "sgd", "lr": 0.0}, per_sequence=per_sequence)
    clean = batch()
    noisy = batch()
    pad = ~noisy.x["mask"]
    noisy.x["words"][pad] = 6 - noisy.x["words"][pad]  # other words and targets at the padded steps only
    noisy.y[pad] = (noisy.y[pad] + 3) % 7
    a, b = task.sums(clean), task.sums(noisy)
    assert all(torch.allclose(x.float(), y.float()) for x, y in zip(a, b, strict=True))
    assert a[2] == 9  # real steps
    grads = []
    for data in (clean, noisy):
        model.zero_grad()
        loss_sum, _, _, units = task.sums(data)
        (loss_sum / units).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.allclose(x, y) for x, y in zip(*grads, strict=True))


def test_the_seeds_loss_averages_each_caption_then_the_batch():
    model = tiny_model()
    data = batch()
    with torch.no_grad():
        steps = torch.nn.functional.cross_entropy(model(data.x).transpose(1, 2), data.y, reduction="none")
    real = data.x["mask"]
    per_caption = (steps * real).sum(1) / real.sum(1)
    per_word = (steps * real).sum() / real.sum()
    for per_sequence, expected in ((True, per_caption.mean()), (False, per_word)):
        task = make_task("masked_sequence", model, {"name": "sgd", "lr": 0.0}, per_sequence=per_sequence)
        loss_sum, _, _, units = task.sums(data)
        assert torch.allclose(loss_sum / units, expected)
        assert task.evaluate(data, 2)["loss"] == pytest.approx(float(expected), rel=1e-5)


def test_the_captioning_network_has_the_keras_count():
    model = build_model("show_and_tell")
    assert count_parameters(model) == 131_300  # RNN 202x100 + 100x100 + 100, dense 100x1000 + 1000
    assert count_parameters(model.rnn) == 30_300 and not model.word_vectors.requires_grad


def test_greedy_decoding_feeds_back_its_words_and_stops_at_end():
    model = tiny_model()
    images = torch.randn(3, 4)
    greedy = decode(model, images, start=0, end=1, steps=6)
    assert all(len(c) <= 6 and 1 not in c for c in greedy)
    assert greedy == decode(model, images, start=0, end=1, steps=6)
    # step by step by hand: the same words
    x, state, words = torch.zeros(3, 1, dtype=torch.long), None, []
    for _ in range(6):
        h = model.rnn(model.inputs(images, x), state)[:, -1]
        x, state = model.head(h).argmax(1, keepdim=True), h
        words.append(x[:, 0])
    by_hand = torch.stack(words, 1).tolist()
    assert greedy == [row[:row.index(1)] if 1 in row else row for row in by_hand]
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert decode(model, images, 0, 1, 6, 0.7, g1) == decode(model, images, 0, 1, 6, 0.7, g2)


def test_the_pca_is_fitted_on_the_training_images_only():
    g = torch.Generator().manual_seed(0)
    train = torch.randn(40, 16, generator=g) @ torch.randn(16, 16, generator=g)
    test = torch.randn(10, 16, generator=g)
    a, facts = reduce_images({"train": {"x": train.half()}, "test": {"x": test.half()}}, 5)
    b, _ = reduce_images({"train": {"x": train.half()}, "test": {"x": (100 * test).half()}}, 5)
    assert torch.equal(a["train"], b["train"]) and not torch.equal(a["test"], b["test"])
    assert facts["pca_fit_images"] == 40 and facts["pca_components"] == 5
    small, facts = reduce_images({"train": {"x": train[:3].half()}, "test": {"x": test.half()}}, 5)
    assert small["test"].shape == (10, 3) and facts["pca_components"] == 3  # no more than the photos


def test_bleu_on_hand_computed_cases():
    hypothesis = "the cat sat on the mat".split()
    references = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    # clipped n-gram precisions 5/6, 3/5, 1/4, 0/3; closest reference length 6: no brevity penalty
    b1, b2, b3, b4 = cap.bleu([hypothesis], [references])
    assert b1 == pytest.approx(5 / 6)
    assert b2 == pytest.approx((5 / 6 * 3 / 5) ** 0.5)
    assert b3 == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3))
    assert b4 < 1e-12  # no 4-gram match and no smoothing (NLTK: "evaluates to 0"), as the course
    short = cap.bleu(["the cat".split()], [["the cat sat on the mat".split()]])
    assert short[0] == pytest.approx(2.718281828 ** (1 - 6 / 2))  # brevity penalty e^(1 - r/c)


def test_generated_captions_are_escaped_in_a_monospace_block(tmp_path):
    part = ExperimentPart("show_and_tell", "Captions", "show_and_tell")
    part.texts = [Text("a <b>photo</b>", "greedy: <script>alert(1)</script> & «fin»")]
    chapters = numbered([asdict(ChapterPart("captioning", "C", [], "smoke", [part]))])
    context = {"title": "T", "scale": "smoke", "generated": "now", "chapters": chapters,
               "provenance": {"commit": "c", "config_hash": "h", "platform": "p", "packages": {},
                              "datasets": [], "assets": [], "runs": [], "jobs": []}}
    html = render_html(context, REPO / "report_templates")
    page = BeautifulSoup(html, "html.parser")
    block = page.select_one("#captioning-show_and_tell-texts pre.sample")
    assert block.get_text() == "greedy: <script>alert(1)</script> & «fin»"
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert page.select_one("p.text-title b") is None


def test_features_are_extracted_at_the_configured_size(tmp_path, monkeypatch):
    from reprolab import features

    images = (torch.rand(3, 3, 40, 40) * 255).to(torch.uint8)
    torch.save({"x": images, "y": torch.arange(3)}, tmp_path / "train.pt")
    seen = []
    real = features.preprocess
    monkeypatch.setattr(features, "preprocess", lambda x, size: seen.append(size) or real(x, size))
    out = features.extract_dataset("resnet18", "avgpool", {"train": tmp_path / "train.pt"}, tmp_path / "f.pt",
                                   device="cpu", size=32)
    saved = torch.load(out, weights_only=True)
    assert seen == [32] and saved["train"]["x"].shape == (3, 512)
    assert torch.equal(saved["train"]["y"], torch.arange(3))
