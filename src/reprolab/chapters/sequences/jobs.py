"""The jobs of chapter `sequences`: the char-RNN on Baudelaire, and the GloVe clusters of the caption words.

`charrnn` trains every seed of its variant in turn on the shared runner (the `language_model`
task), combines them as `aggregate_seeds` does (`reprolab.results.aggregate`), then generates
text from the first seed's model at each temperature. One job per variant rather than per seed:
the smoke run pays Python's start-up once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reprolab.atomic import save_torch, write_json
from reprolab.chapters.sequences import text as txt
from reprolab.chapters.sequences.glove import caption_embeddings, nearest
from reprolab.chapters.sequences.plots import clusters_tsne
from reprolab.data.assets import asset_file
from reprolab.data.assets.corpora import read_gutenberg
from reprolab.engine import Split, TrainConfig, make_task, run_epochs, select_device
from reprolab.engine.runner import fingerprint
from reprolab.errors import ConfigError
from reprolab.kinds import Job
from reprolab.models import build_model
from reprolab.registry import Variant
from reprolab.results import aggregate
from reprolab.train import run_facts, save_seed

log = logging.getLogger(__name__)


def _asset(job: Job, name: str) -> Path:
    """The file of asset `name`, beside its manifest (the job's input `asset_<name>`)."""
    if f"asset_{name}" not in job.inputs:
        raise ConfigError(f"{job.variant.id}: asset {name!r} is not among its assets; add it to `assets:`")
    return asset_file(name, Path(job.inputs[f"asset_{name}"]).parent)


def train_eval_metrics(task, train: Split, cfg: TrainConfig, device: torch.device) -> dict:
    """The trained model evaluated on the whole training split (the course's `model.evaluate(X_train, ...)`,
    the seed's «PERFS TRAIN»); the history's train numbers are means over each epoch's batches."""
    found = task.evaluate(train.to(device), cfg.eval_batch_size)
    return {f"train_eval_{k}": v for k, v in found.items() if k in ("loss", "acc")}


def train_seed(variant: Variant, seed: int, build: Callable[[], nn.Module], task: str, train: Split,
               test: Split, out_dir: Path, device: torch.device, cfg: TrainConfig | None = None,
               **task_options) -> tuple[nn.Module, dict]:
    """One seed of a sequence variant (char-RNN, captioning): the network `build` makes once seeded,
    trained by the engine's `task` with the variant's settings (or `cfg`), then evaluated on the
    whole training split. The trained network (on `device`) and its final metrics."""
    torch.manual_seed(seed)
    model = build().to(device)
    cfg = cfg or TrainConfig.from_params(variant.params, seed)
    trained = make_task(task, model, cfg.optimizer, cfg.scheduler, **task_options)
    result = run_epochs(trained, train, cfg, out_dir, device=device, test=test)
    return model, {**result.final, **train_eval_metrics(trained, train, cfg, device)}


def load_corpus(path: Path, start: str | None) -> str:
    return txt.course_text(read_gutenberg(path), start)


def charrnn(job: Job) -> dict:
    """Train the char-RNN (each seed), combine the seeds, then sample and probe the first seed's model."""
    variant, p = job.variant, job.variant.params
    corpus = _asset(job, "fleurs_du_mal")
    text = load_corpus(corpus, p["corpus"].get("start"))
    symbols = sorted(set(text))
    index = {c: i for i, c in enumerate(symbols)}
    ids = torch.tensor([index[c] for c in text])
    x, y = txt.windows(ids, int(p["seqlen"]))
    n_train = txt.train_size(len(x), float(p["train_fraction"]))
    train, test = Split(x[:n_train], y[:n_train]), Split(x[n_train:], y[n_train:])
    options = {"n_symbols": len(symbols), **p.get("model_options", {})}
    digest = hashlib.sha256(text.encode()).hexdigest()
    device = select_device(variant.device)
    log.info("%s: %d characters, %d symbols, %d train / %d test sequences", corpus, len(text), len(symbols),
             len(train), len(test))
    seed_dirs, models = [], {}
    for seed in variant.seeds:
        tic = time.perf_counter()
        out = job.out_dir / f"seed{seed}"
        cfg = TrainConfig.from_params(p, seed, fingerprint=fingerprint({**p, "text_sha256": digest}, seed))
        model, final = train_seed(variant, seed, lambda: build_model(p["model"], **options), "language_model",
                                  train, test, out, device, cfg, one_hot=len(symbols))
        model = model.cpu()
        save_seed(out, {"model": p["model"], "model_options": options, "state_dict": model.state_dict(),
                        "symbols": symbols},
                  {"id": variant.id, "seed": seed, **final, **run_facts(model, train, test, device, tic)})
        seed_dirs.append(out)
        models[seed] = model
    combined = aggregate(variant, seed_dirs, job.out_dir)
    first = variant.seeds[0]
    combined |= corpus_facts(text, symbols, x, y, n_train, corpus)
    combined |= {"model_options": options, "input_shape": [int(p["seqlen"]), len(symbols)],
                 "n_symbols": len(symbols), "n_classes": len(symbols), "samples_seed": first}
    combined |= baselines(train, test, len(symbols))
    samples = generation(models[first], x, n_train, p, first, text)
    combined["probe"] = probe(models[first], p["probe"], symbols, x, y, n_train)
    write_json(job.outputs["samples"], samples)
    combined["generation"] = {k: v for k, v in samples.items() if k != "samples"}
    write_json(job.outputs["metrics"], combined)
    return combined


def corpus_facts(text: str, symbols: list[str], x: torch.Tensor, y: torch.Tensor, n_train: int,
                 corpus: Path) -> dict:
    """What the course's questions ask of the data: sizes, the alphabet, the split."""
    return {"corpus_file": corpus.name, "text_chars": len(text), "symbols": "".join(symbols),
            "n_sequences": len(x), "train_chars": n_train,
            "text_sha256": hashlib.sha256(text.encode()).hexdigest()}


def baselines(train: Split, test: Split, n_symbols: int) -> dict:
    """Accuracy of always answering the most frequent training target, and chance (100 / symbols)."""
    counts = torch.bincount(train.y, minlength=n_symbols)
    top = int(counts.argmax())
    return {"chance_acc": 100 / n_symbols, "majority_symbol": top,
            "majority_train_acc": 100 * float((train.y == top).float().mean()),
            "majority_test_acc": 100 * float((test.y == top).float().mean())}


def generation(model: torch.nn.Module, x: torch.Tensor, n_train: int, p: dict, seed: int, text: str) -> dict:
    """Text generated at each temperature from the training sequence `prime_index` (the seed's
    "souvent, p"), or from the first training sequence that spells `prime` when the corpus is
    another (the smoke fixture), or from sequence 0."""
    symbols = sorted(set(text))
    g = p["generation"]
    wanted, spelled = int(g["prime_index"]), g.get("prime")
    seqlen = x.shape[1]
    spelled_at = text.find(spelled) if spelled else -1
    if wanted < n_train and (not spelled or text[wanted:wanted + seqlen] == spelled):
        start, how = wanted, "the catalogue's training sequence"
    elif 0 <= spelled_at < n_train:
        start, how = spelled_at, f"the first training sequence spelling {spelled!r}"
    else:
        start, how = 0, "the first training sequence"
    prime = x[start].tolist()
    vocabulary = set(txt.words(text[:n_train + seqlen]))
    samples = []
    for temperature in g["temperatures"]:
        ids = txt.generate(model, prime, int(g["length"]), float(temperature), len(symbols), seed)
        generated = "".join(symbols[i] for i in ids)
        samples.append({"temperature": temperature, "prime": text[start:start + seqlen], "text": generated,
                        **txt.text_facts(generated, vocabulary)})
    corpus = txt.text_facts(text[n_train + seqlen:n_train + seqlen + int(g["length"])], vocabulary)
    return {"prime_index": start, "prime_from": how, "length": int(g["length"]), "sampling_seed": seed,
            "train_vocabulary": len(vocabulary), "test_text_facts": corpus, "samples": samples}


@torch.no_grad()
def probe(model: torch.nn.Module, probe_text: str, symbols: list[str], x: torch.Tensor, y: torch.Tensor,
          n_train: int) -> dict:
    """The seed's probe: the sequences spelling `probe_text`, in the train and test parts, the targets
    that follow them, and the model's three most probable next symbols for that input."""
    index = {c: i for i, c in enumerate(symbols)}
    found = {"text": probe_text, "train_targets": [], "test_targets": [], "predictions": []}
    if len(probe_text) != x.shape[1] or any(c not in index for c in probe_text):
        return found | {"note": "not a sequence of this corpus's length and alphabet"}
    ids = torch.tensor([index[c] for c in probe_text])
    hits = (x == ids).all(1).nonzero().flatten().tolist()
    found["train_targets"] = [symbols[int(y[i])] for i in hits if i < n_train]
    found["test_targets"] = [symbols[int(y[i])] for i in hits if i >= n_train]
    model.eval()
    probs = torch.softmax(model(torch.nn.functional.one_hot(ids[None], len(symbols)).float())[0].double(), -1)
    top = probs.topk(min(3, len(symbols)))
    found["predictions"] = [[symbols[int(i)], float(v)] for v, i in zip(top.values, top.indices, strict=True)]
    return found


def glove_clusters(job: Job) -> dict:
    """The caption words' GloVe rows (saved for chapter `captioning`), KMeans, the words nearest each
    centre, and the t-SNE map."""
    from sklearn.cluster import KMeans
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score

    variant, p = job.variant, job.variant.params
    captions = torch.load(Path(job.inputs["prepared"]) / "captions.pt", weights_only=True)
    split = p.get("captions_split", "train")
    built = caption_embeddings(captions[split]["captions"], _asset(job, "glove6b"), int(p["dim"]))
    words, vectors = built["words"], built["vectors"]
    save_torch({"words": words, "vectors": vectors,
                "source": f"GloVe 6B {p['dim']}-d, Flickr8k {split} captions"}, job.outputs["embeddings"])
    data = vectors.double().numpy()
    seed = variant.seeds[0]
    k = int(p["clusters"])
    kmeans = KMeans(n_clusters=k, init=p.get("init", "random"), max_iter=int(p["max_iter"]),
                    n_init=int(p["n_init"]), random_state=seed).fit(data)
    labels = kmeans.labels_
    shown = int(p["words_per_cluster"])
    clusters = []
    for c, centre in enumerate(kmeans.cluster_centers_):
        order = nearest(data, centre, shown + 1)
        clusters.append({"cluster": c, "name": words[order[0]], "size": int((labels == c).sum()),
                         "words": [words[i] for i in order[1:]],
                         "in_cluster": int(sum(labels[i] == c for i in order)),
                         "centre_index": int(order[0])})
    tsne_options = dict(p["tsne"])
    perplexity = min(float(tsne_options.pop("perplexity")), (len(data) - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, random_state=seed, **tsne_options)
    points = tsne.fit_transform(data)
    clusters_tsne(points, labels, [c["centre_index"] for c in clusters], [c["name"] for c in clusters],
                  job.outputs["tsne"], f"t-SNE of the {len(words):,} caption words' GloVe rows, {k} KMeans "
                                       f"clusters (a cross: the word nearest each centre)")
    centres = kmeans.cluster_centers_ / np.linalg.norm(kmeans.cluster_centers_, axis=1, keepdims=True)
    cosines = centres @ centres.T
    between = cosines[~np.eye(k, dtype=bool)]
    own = np.einsum("ij,ij->i", data, centres[labels])
    metrics = {"id": variant.id, **built["facts"], "clusters": k, "kmeans_iterations": int(kmeans.n_iter_),
               "kmeans_inertia": float(kmeans.inertia_), "n_init": int(p["n_init"]),
               "max_iter": int(p["max_iter"]), "seed": seed, "tsne_perplexity": perplexity,
               "silhouette_cosine": float(silhouette_score(data, labels, metric="cosine")) if k > 1 else None,
               "centre_cosine_max": float(between.max()), "centre_cosine_mean": float(between.mean()),
               "word_centre_cosine_mean": float(own.mean()), "cluster_sizes": [c["size"] for c in clusters]}
    write_json(job.outputs["clusters"], clusters)
    write_json(job.outputs["metrics"], metrics)
    return metrics
