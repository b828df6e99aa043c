"""The job of chapter `captioning`: the data of the course's TP 5, the masked RNN, its captions and BLEU.

One job per variant: the vocabulary and the caption tensors are built once, the PCA fitted on the
training images' VGG16 features (read from `features/`, extracted once), then each seed trains on the
shared runner (`masked_sequence` task) and captions the test photos; the seeds are combined as
`aggregate_seeds` does, and the first seed's captions are shown.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from reprolab.atomic import write_json
from reprolab.chapters.captioning import data as cap
from reprolab.chapters.captioning.plots import captioned_photos, word_frequencies
from reprolab.chapters.sequences.jobs import train_seed
from reprolab.engine import Split, select_device
from reprolab.kinds import Job
from reprolab.models import build_model
from reprolab.models.captioning import decode
from reprolab.results import aggregate
from reprolab.train import run_facts, save_seed

log = logging.getLogger(__name__)
SHOWN_WORDS = 100  # the word-frequency figure: the most frequent words


def reduce_images(features: dict, components: int) -> tuple[dict[str, torch.Tensor], dict]:
    """PCA of the training images' features (fitted on them only), applied to every split."""
    from sklearn.decomposition import PCA

    train = features["train"]["x"].float().numpy()
    n = min(components, *train.shape)
    pca = PCA(n_components=n, svd_solver="full").fit(train)
    reduced = {split: torch.from_numpy(pca.transform(part["x"].float().numpy()).astype(np.float32))
               for split, part in features.items()}
    return reduced, {"pca_components": n, "pca_fit_images": len(train), "feature_dim": int(train.shape[1]),
                     "pca_explained_pct": 100 * float(pca.explained_variance_ratio_.sum())}


def split_of(encoded: cap.Encoded, images: torch.Tensor) -> Split:
    return Split({"image": images[encoded.image], "words": encoded.words, "mask": encoded.mask},
                 encoded.targets)


def vocabulary_facts(counts, vocabulary: list[str], known: list[str], train: cap.Encoded, test: cap.Encoded,
                     test_steps: torch.Tensor, out: Path) -> dict:
    """The course's ex. 1 and 2 in numbers (and the word-frequency figure)."""
    words = {w: c for w, c in counts.items() if w not in (cap.START, cap.END)}
    total = sum(words.values())
    kept = [w for w in vocabulary if w in words]
    covered = sum(words[w] for w in kept)
    top = sorted(words.items(), key=lambda item: -item[1])[:SHOWN_WORDS]
    word_frequencies([w for w, _ in top], [c for _, c in top], total, 100 * covered / max(total, 1), out,
                     f"The {len(top)} most frequent words of the training captions "
                     f"(of {len(words):,} distinct)")
    known_set = set(known)
    return {"caption_words": len(words), "caption_occurrences": total,
            "words_with_vector": sum(w in known_set for w in words),
            "vocabulary": len(vocabulary), "kept_occurrences_pct": 100 * covered / max(total, 1),
            "top_words": [[w, c] for w, c in top[:20]],
            "top100_occurrences_pct": 100 * sum(c for _, c in top) / max(total, 1),
            "n_train": len(train.words), "n_test": len(test.words), "length": train.length,
            "train_steps_mean": float(train.steps.float().mean()),
            "test_longest": int(test_steps.max()), "test_cut": int((test_steps > train.length).sum())}


def show_and_tell(job: Job) -> dict:
    """Build the data, train each seed, caption the test photos, score BLEU; combine the seeds."""
    variant, p = job.variant, job.variant.params
    prepared = Path(job.inputs["prepared"])
    captions = torch.load(prepared / "captions.pt", weights_only=True)
    embeddings = torch.load(job.inputs["embeddings"], weights_only=True)
    counts = cap.word_counts(captions["train"]["captions"])
    vocabulary = cap.kept_vocabulary(counts, embeddings["words"], int(p["vocabulary"]))
    index = {w: i for i, w in enumerate(embeddings["words"])}
    vectors = embeddings["vectors"][[index[w] for w in vocabulary]]
    vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)  # seed: «L2-normalised again»
    train_enc = cap.encode(captions["train"]["captions"], vocabulary)
    test_full = cap.encode(captions["test"]["captions"], vocabulary)
    test_enc = cap.encode(captions["test"]["captions"], vocabulary, train_enc.length)
    images, pca_facts = reduce_images(torch.load(job.inputs["features"], weights_only=True), int(p["pca"]))
    facts = vocabulary_facts(counts, vocabulary, embeddings["words"], train_enc, test_enc, test_full.steps,
                             job.outputs["vocabulary"]) | pca_facts
    train, test = split_of(train_enc, images["train"]), split_of(test_enc, images["test"])
    options = {"vocabulary": len(vocabulary), "image_dim": images["train"].shape[1],
               "word_dim": vectors.shape[1], **p.get("model_options", {})}
    facts |= {"model_options": options, "input_dim": options["image_dim"] + options["word_dim"],
              "input_shape": {"image": [options["image_dim"]], "words": [train_enc.length],
                              "mask": [train_enc.length]},
              "majority_test_acc": majority_accuracy(train, test)}
    device = select_device(variant.device)
    references = [[cap.tokens(c) for c in image] for image in captions["test"]["captions"]]
    course_refs = [[image[-1].split()] for image in captions["test"]["captions"]]

    def build() -> torch.nn.Module:
        model = build_model(p["model"], **options)
        model.word_vectors.copy_(vectors)
        return model

    seed_dirs, models = [], {}
    for seed in variant.seeds:
        tic = time.perf_counter()
        out = job.out_dir / f"seed{seed}"
        model, final = train_seed(variant, seed, build, "masked_sequence", train, test, out, device,
                                  per_sequence=bool(p.get("per_sequence_loss", False)))
        greedy = decode(model, images["test"].to(device), vocabulary.index(cap.START),
                        vocabulary.index(cap.END), int(p["decoding"]["max_words"]))
        hypotheses = [[vocabulary[i] for i in ids] for ids in greedy]
        scores, course = cap.bleu(hypotheses, references), cap.bleu(hypotheses, course_refs)
        model = model.cpu()
        metrics = {"id": variant.id, "seed": seed, **final,
                   **{f"bleu{n}": s for n, s in enumerate(scores, 1)},
                   **{f"bleu{n}_course": s for n, s in enumerate(course, 1)},
                   "greedy_words_mean": float(np.mean([len(h) for h in hypotheses])),
                   "greedy_distinct": len({" ".join(h) for h in hypotheses}),
                   **run_facts(model, train, test, device, tic)}
        save_seed(out, {"model": p["model"], "model_options": options, "state_dict": model.state_dict(),
                        "vocabulary": vocabulary}, metrics)
        seed_dirs.append(out)
        models[seed] = (model, hypotheses)
    combined = aggregate(variant, seed_dirs, job.out_dir) | facts
    first = variant.seeds[0]
    shown = shown_captions(models[first][0], models[first][1], images["test"], captions["test"], vocabulary,
                           p["decoding"], first)
    combined |= {"captions_seed": first, "chance_loss": math.log(len(vocabulary)),
                 "n_classes": len(vocabulary)}
    write_json(job.outputs["captions"], shown)
    photos = torch.load(prepared / "test.pt", weights_only=True)["x"]
    t = shown["temperature"]
    captioned_photos([photos[e["row"]].numpy() for e in shown["images"]],
                     [[f"greedy: {e['greedy']}", *(f"T={t:g}: {s}" for s in e["sampled"]),
                       f"reference: {e['references'][0]}"] for e in shown["images"]],
                     job.outputs["photos"],
                     f"Test photos: the greedy caption, captions sampled at temperature {t:g}, a reference "
                     f"(seed {first})")
    write_json(job.outputs["metrics"], combined)
    return combined


def majority_accuracy(train: Split, test: Split) -> float:
    """Test accuracy (%, real steps) of always predicting the most frequent training target."""
    top = int(torch.bincount(train.y[train.x["mask"]]).argmax())
    real = test.x["mask"]
    return 100 * float((test.y[real] == top).float().mean())


def shown_captions(model, hypotheses: list[list[str]], images: torch.Tensor, test: dict,
                   vocabulary: list[str], decoding: dict, seed: int) -> dict:
    """The photos shown: the seed's (when in the test split) then the first test photos, each with its
    greedy caption, `samples` captions drawn at `temperature` (generator seeded by `seed`) and its
    references; and the first greedy captions of the test set."""
    names = test["names"]
    wanted = [names.index(n) for n in decoding.get("images", []) if n in names]
    rows = list(dict.fromkeys(wanted + list(range(len(names)))))[:int(decoding["n_images"])]
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    temperature, k = float(decoding["temperature"]), int(decoding["samples"])
    start, end = vocabulary.index(cap.START), vocabulary.index(cap.END)
    entries = []
    for row in rows:
        batch = images[row:row + 1].expand(k, -1).to(device)
        drawn = decode(model, batch, start, end, int(decoding["max_words"]), temperature, generator)
        entries.append({"name": names[row], "row": row, "greedy": " ".join(hypotheses[row]),
                        "sampled": [" ".join(vocabulary[i] for i in ids) for ids in drawn],
                        "references": test["captions"][row]})
    return {"temperature": temperature, "images": entries,
            "greedy_first": [{"name": names[i], "greedy": " ".join(hypotheses[i])}
                             for i in range(min(10, len(names)))]}
