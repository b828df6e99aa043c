"""The report part of chapter `sequences`: the char-RNN (method, network from the built model, samples
at each temperature with measurable facts, the probe) and the GloVe clusters (the words nearest each
centre, the t-SNE map); seed 002 TP 4's statements answered from the numbers; the discussion.

Every number is computed: the alphabet and the sizes from the text the job cut, the parameters
from the built network, the facts about generated text from the samples; the seed's numbers come
from references.yaml (its cluster names too, quoted there among its findings).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from reprolab import figures
from reprolab.models import build_model, count_parameters
from reprolab.models.sequences import keras_rnn_parameters, torch_rnn_parameters
from reprolab.report import method, questions
from reprolab.report.generic import SETUP_COLUMNS
from reprolab.report.parts import (
    NOT_ENOUGH_EPOCHS,
    ChapterPart,
    Context,
    ExperimentPart,
    Figure,
    Question,
    Row,
    Table,
    Text,
    VariantResult,
    enough_epochs,
    fmt,
)

SOURCE = "seed 002, TP 4"
SMOKE = questions.SMOKE_NOTE


def _samples(r: VariantResult) -> dict:
    path = Path(r.file("samples.json"))
    return json.loads(path.read_text()) if path.is_file() else {"samples": []}


def _symbols_text(symbols: str) -> str:
    """The alphabet as printed: each symbol quoted, the space named."""
    return " ".join("␣" if s == " " else s for s in symbols)


def built(r: VariantResult):
    """The variant's network, built from its settings and the alphabet its job found."""
    p = r.variant.params
    return build_model(p["model"], **r.metrics["model_options"])


# ------------------------------------------------------------------------------------------ char-RNN

def charrnn(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The char-RNN's method (the text, the network, the training), its setup, its network layer by layer,
    the samples (verbatim, with their facts) and the observations."""
    rows = []
    for name, r in results.items():
        m, p = r.metrics, r.variant.params
        rows.append(Row([name, method.model_words(p["model"], m["model_options"]), fmt(m["params"]),
                         f"{m['text_chars']:,} characters, {m['n_symbols']} symbols, windows of "
                         f"{p['seqlen']}",
                         f"{m['n_train']:,} / {m['n_test']:,}", method.optimizer_words(p["optimizer"]),
                         str(p["batch_size"]), str(p["epochs"]), ", ".join(map(str, r.variant.seeds))]))
        part.method_tables.append(method.network_table(
            built(r), m["input_shape"], f"{method.model_words(p['model'], m['model_options'])}: the network "
                                        f"layer by layer ({name}), on one one-hot sequence"))
    part.setup = method.setup_table(SETUP_COLUMNS, rows)
    first = next(iter(results.values()))
    m, p = first.metrics, first.variant.params
    start = p["corpus"].get("start")
    part.method += [
        f"Data: {m['corpus_file']}, Project Gutenberg's plain-text ebook, read between its START and END "
        f"markers, then cut as the course does: from the line holding «{start}» (the start of Frichet's "
        f"preface; the producer credits and the illustrations' marks before it are left out) to the end "
        f"of the book, each line stripped and lower-cased, the empty lines dropped, the others joined by "
        f"one space: {m['text_chars']:,} characters over {m['n_symbols']} symbols. Each window of "
        f"{p['seqlen']} characters (stride 1) is one sequence, one-hot encoded ({p['seqlen']} × "
        f"{m['n_symbols']}), its target the next character: {m['n_sequences']:,} sequences, the first "
        f"{m['n_train']:,} ({100 * p['train_fraction']:.0f} %, in text order, no shuffle) for training, the "
        f"last {m['n_test']:,} for test.",
        f"Network: {method.model_words(p['model'], m['model_options'])} ({fmt(m['params'])} trainable "
        f"parameters); the recurrent layer is Keras' SimpleRNN (one bias vector, Glorot-uniform input "
        f"weights, orthogonal recurrent weights), so the count is the course's.",
        f"Training: cross-entropy of the next character (the shared runner's language-model task), "
        f"{method.optimizer_words(p['optimizer'])}, mini-batches of {p['batch_size']} reshuffled every "
        f"epoch, {p['epochs']} epochs; {method.seeds_words(first.variant.seeds)}. Accuracy is the share "
        f"of sequences whose most probable next character is the right one; chance is 1 / "
        f"{m['n_symbols']} = {100 / m['n_symbols']:.2f} %.",
    ]
    for name, r in results.items():
        m = r.metrics
        generated = _samples(r)
        part.observations.append(
            f"{name}: test accuracy {m['test_acc']:.2f} %, train "
            f"{m.get('train_eval_acc', m['train_acc']):.2f} % (the trained network on the whole training "
            f"part; chance {m['chance_acc']:.2f} %; always answering the most frequent character, «"
            f"{_symbols_text(m['symbols'][m['majority_symbol']])}», gives {m['majority_test_acc']:.2f} % on "
            f"test); test perplexity {m['test_perplexity']:.2f} of {m['n_symbols']} symbols.")
        if generated["samples"]:
            part.tables.append(sample_table(generated))
            part.texts += [Text(f"{name}, T = {s['temperature']:g}: «{s['prime']}» then {len(s['text'])} "
                                f"generated characters (seed {generated['sampling_seed']})",
                                s["prime"] + s["text"]) for s in generated["samples"]]
            if generated["prime_from"] != "the catalogue's training sequence":
                part.observations.append(f"{name}: the samples start from {generated['prime_from']} "
                                         f"(number {generated['prime_index']:,}), this corpus having no "
                                         f"training sequence {p['generation']['prime_index']:,} spelling it.")


def sample_table(generated: dict) -> Table:
    """What each sample is made of: its words found in the training text, its symbols, its loop."""
    rows = []
    for s in generated["samples"]:
        rows.append(Row([f"{s['temperature']:g}", f"{s['words']:,}", f"{s['words_in_corpus_pct']:.1f}",
                         f"{s['distinct_words']:,}", str(s["symbols"]), f"{s['char_entropy_bits']:.2f}",
                         str(s["loop_period"]) if s["loop_period"] else "none"]))
    t = generated["test_text_facts"]
    rows.append(Row(["the test text (the same length)", f"{t['words']:,}", f"{t['words_in_corpus_pct']:.1f}",
                     f"{t['distinct_words']:,}", str(t["symbols"]), f"{t['char_entropy_bits']:.2f}",
                     str(t["loop_period"]) if t["loop_period"] else "none"]))
    return Table(["temperature T", "words", "words found in the training text (%)", "distinct words",
                  "distinct symbols", "entropy of the characters (bits)", "ends in a loop of (characters)"],
                 rows, f"The samples ({generated['length']} characters each) in numbers: a word is a run of "
                       f"letters; the training text has {generated['train_vocabulary']:,} distinct words")


def data_question(r: VariantResult, ctx: Context) -> Question:
    m, p = r.metrics, r.variant.params
    reference = ctx.reference(r.name, "n_symbols")
    answer = (f"Our cut of the ebook has {m['text_chars']:,} characters and nb_chars = {m['n_symbols']} "
              f"distinct symbols: {_symbols_text(m['symbols'])}. ")
    if reference is not None:
        same = m["n_symbols"] == reference.value
        answer += (f"The seed's output layer has {reference.text()} units, one per symbol: "
                   + ("the same alphabet size. " if same else f"{m['n_symbols'] - reference.value:+g} here "
                      "(another cut of the text gives another alphabet). "))
    answer += (f"X is {m['n_sequences']:,} × {p['seqlen']} × {m['n_symbols']} (nbex × SEQLEN × tdict, "
               f"one-hot) and y {m['n_sequences']:,} × {m['n_symbols']}; the first {m['n_train']:,} "
               f"sequences train and the last {m['n_test']:,} test.")
    return Question("On génère ainsi le dictionnaire chars des caractères uniques se trouvant dans le "
                    "fichier initial [...] nb_chars représente ainsi le nombre de caractères uniques "
                    "utilisés dans le fichier des données brutes.", f"{SOURCE}, ex. 1 a)", answer)


def network_question(r: VariantResult, ctx: Context) -> Question:
    """The seed's layer table: each count from the built model, beside Keras' formula and the seed's."""
    m = r.metrics
    model = built(r)
    symbols, hidden = m["n_symbols"], model.rnn.hidden_size
    rnn, dense = count_parameters(model.rnn), count_parameters(model.head)
    reference = ctx.reference(r.name, "params")
    seed_layers = list((reference.layers or {}).values()) if reference else []
    rows = [Row(["SimpleRNN", f"{symbols}×{hidden} + {hidden}×{hidden} + {hidden}",
                 f"{keras_rnn_parameters(symbols, hidden):,}", f"{rnn:,}",
                 f"{seed_layers[0]:,}" if seed_layers else "—",
                 f"{torch_rnn_parameters(symbols, hidden):,}"]),
            Row(["fully connected", f"{hidden}×{symbols} + {symbols}", f"{hidden * symbols + symbols:,}",
                 f"{dense:,}", f"{seed_layers[1]:,}" if len(seed_layers) > 1 else "—",
                 f"{hidden * symbols + symbols:,}"]),
            Row(["total", "", f"{keras_rnn_parameters(symbols, hidden) + hidden * symbols + symbols:,}",
                 f"{count_parameters(model):,}", reference.text() if reference else "—",
                 f"{torch_rnn_parameters(symbols, hidden) + hidden * symbols + symbols:,}"])]
    answer = (f"With {symbols} symbols and {hidden} units, the recurrent layer has {symbols}×{hidden} input "
              f"weights, {hidden}×{hidden} recurrent weights and {hidden} biases: {rnn:,} parameters; the "
              f"fully connected layer {dense:,}; {count_parameters(model):,} in all")
    if reference is not None and reference.value is not None:
        answer += (", the seed's count" if count_parameters(model) == reference.value
                   else f", {count_parameters(model) - reference.value:+,.0f} against the seed's "
                        f"{reference.text()} (another alphabet size)")
    answer += (f". PyTorch's nn.RNN adds a second bias vector ({hidden} more parameters, "
               f"{torch_rnn_parameters(symbols, hidden) + hidden * symbols + symbols:,}), redundant since "
               f"only the sum of the two biases matters: our layer is Keras' (one bias). "
               f"return_sequences=False: only the last state reaches the classifier, the one that has read "
               f"the whole window.")
    table = Table(["layer", "Keras' formula", "formula's count", "built model", "seed",
                   "with nn.RNN's two biases"],
                  rows, "The char-RNN's parameters: Keras' formula, the built model, the seed's table")
    return Question("On commence par créer un modèle séquentiel, puis on ajoute une couche récurrente de la "
                    "bibliothèque Keras SimpleRNN. Comme on aura besoin de prédire que le caractère suivant "
                    "[...] on instancie return_sequences=False.", f"{SOURCE}, ex. 1 b), figure 16", answer,
                    [table])


def accuracy_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    reference = ctx.reference(r.name, "train_eval_acc")
    train = m.get("train_eval_acc", m["train_acc"])
    answer = (f"Ours: {train:.2f} % on the training part (the trained network evaluated on all of it, as the "
              f"course's «PERFS TRAIN»; {m['train_acc']:.2f} % averaged over the last epoch's batches) and "
              f"{m['test_acc']:.2f} % on the test part"
              + (f"; the seed: {reference.text()} % on train" if reference else "")
              + f". Against what it could be: chance is {m['chance_acc']:.2f} % ({m['n_symbols']} symbols) "
              f"and always answering the most frequent character gives {m['majority_test_acc']:.2f} % on "
              f"test; the network does {m['test_acc'] / max(m['majority_test_acc'], 1e-9):.1f} times better "
              f"than that. Its test perplexity, {m['test_perplexity']:.2f}, means it hesitates on average as "
              f"between about {m['test_perplexity']:.0f} equally likely characters: after ten characters, "
              f"the next one is often genuinely open (the start of a new word), so an accuracy far from "
              f"100 % is expected.")
    if enough_epochs(r.history, ctx.smoke):
        gap = train - m["test_acc"]
        answer += (f" The training part's accuracy is {abs(gap):.2f} points "
                   f"{'above' if gap > 0 else 'below'} the test part's: the test part is the end of the "
                   f"book, which the network never read.")
    return Question("En apprentissage, comme le montre la figure ci-dessus, on obtient une performance égale "
                    "à 53.85% ce qui n'est pas considéré comme bonne.", f"{SOURCE}, ex. 1 b), figure 17",
                    answer + (SMOKE if ctx.smoke else ""))


def probe_question(r: VariantResult, ctx: Context) -> Question:
    probe = r.metrics["probe"]
    targets = probe["train_targets"] + probe["test_targets"]

    def listed(found: list[str]) -> str:
        return ", ".join(f"«{_symbols_text(c)}»" for c in found)

    if targets:
        train, test = probe["train_targets"], probe["test_targets"]
        answer = (f"The sequence «{probe['text']}» occurs {len(train)} time(s) in the training part"
                  + (f", followed by {listed(train)}" if train else "")
                  + f", and {len(test)} time(s) in the test part"
                  + (f", followed by {listed(test)}" if test else "")
                  + f": a space follows it {targets.count(' ')} time(s) of {len(targets)}. ")
    else:
        answer = f"The sequence «{probe['text']}» does not occur in this text. "
    if probe["predictions"]:
        best = probe["predictions"][0]
        answer += ("Our network's most probable next characters for it: "
                   + ", ".join(f"«{_symbols_text(c)}» {100 * v:.1f} %" for c, v in probe["predictions"])
                   + ". ")
        answer += ("It predicts the space, as the seed found; the space ends the word «de», not a sentence."
                   if best[0] == " " else
                   f"It predicts «{_symbols_text(best[0])}», not the space the seed reports.")
    return Question("Pour appuyer ces propos, on choisit de regarder la séquence de \"mort de\", le label "
                    "cible présent est un espace ' ', celui-ci est prévisible puisqu'il s'agit de la fin de "
                    "la phrase.", f"{SOURCE}, ex. 1 b)", answer + (SMOKE if ctx.smoke else ""))


def temperature_question(r: VariantResult, ctx: Context) -> Question | None:
    generated = _samples(r)["samples"]
    if not generated:
        return None
    low, high = min(generated, key=lambda s: s["temperature"]), max(generated, key=lambda s: s["temperature"])
    symbols = r.metrics["n_symbols"]
    answer = (f"Dividing the log-probabilities by T before the softmax sharpens the distribution for T < 1 "
              f"(at T → 0 it becomes the argmax) and flattens it for T > 1 (at T → ∞, uniform over the "
              f"{symbols} symbols). Measured on our {len(low['text'])}-character samples: at T = "
              f"{low['temperature']:g}, {low['words_in_corpus_pct']:.1f} % of the words are words of the "
              f"training text")
    answer += (f", but the text falls into a loop of {low['loop_period']} characters"
               if low["loop_period"] else ", and it does not fall into a loop")
    answer += (f"; at T = {high['temperature']:g}, {high['words_in_corpus_pct']:.1f} % of the words exist, "
               f"{high['symbols']} distinct symbols appear and the characters' entropy is "
               f"{high['char_entropy_bits']:.2f} bits (uniform: {math.log2(symbols):.2f}). ")
    middle = [s for s in generated if s is not low and s is not high]
    if middle:
        answer += "In between: " + "; ".join(f"T = {s['temperature']:g}, {s['words_in_corpus_pct']:.1f} % "
                                             f"of words found" for s in middle) + ". "
    if ctx.smoke:
        return Question(QUOTE_TEMPERATURE, f"{SOURCE}, ex. 1 c)", answer + SMOKE)
    holds_low = low["words_in_corpus_pct"] > high["words_in_corpus_pct"]
    answer += ("The seed's statement holds in part: near 0 the words are real" if holds_low
               else "Here the words are not more real near 0 than at high temperature")
    answer += (", but the text repeats itself (the seed's own T = 0.02 sample loops on «de la vie en mon "
               "coeur sous les plus»): the best text comes from an intermediate temperature, sharp enough to "
               "spell words and random enough not to loop." if low["loop_period"] else ".")
    return Question(QUOTE_TEMPERATURE, f"{SOURCE}, ex. 1 c)", answer)


QUOTE_TEMPERATURE = ("Lorsque la température est proche de 0 on a une meilleure génération de séquence (des "
                     "mots qui ont du sens), cependant quand T tend vers l'infini la séquence générée n'a "
                     "plus de sens.")


def charrnn_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Seed 002 TP 4 ex. 1's statements, answered from the text, the built network and the samples."""
    for r in results.values():
        found = [data_question(r, ctx), network_question(r, ctx), accuracy_question(r, ctx),
                 probe_question(r, ctx), temperature_question(r, ctx)]
        part.questions += [q for q in found if q is not None]


# ------------------------------------------------------------------------------------------ GloVe clusters

def _clusters(r: VariantResult) -> list[dict]:
    return json.loads(Path(r.file("clusters.json")).read_text())


def glove_clusters(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The method in words, the clusters as a table (the nearest word names each), the t-SNE map."""
    first = next(iter(results.values()))
    m, p = first.metrics, first.variant.params
    part.method += [
        f"Data: the words of the Flickr8k {p.get('captions_split', 'train')} captions (lower-cased, split on "
        f"whitespace: {m['caption_words']:,} distinct words, {m['caption_occurrences']:,} occurrences), kept "
        f"when GloVe 6B knows them ({m['found_in_glove']:,}, {m['found_pct']:.1f} % of the words, "
        f"{m['occurrences_covered_pct']:.1f} % of the occurrences), plus GloVe's own «unk» "
        + ("" if m["unk_in_glove"] else "(absent from this copy of GloVe) ")
        + f"and two rows for <start> and <end>: {m['rows']:,} rows of {m['dim']} values (the {p['dim']}-d "
        f"vector followed by two zeros; <start> and <end> are the two extra one-hot dimensions), each "
        f"L2-normalised. Chapter captioning reads the same rows.",
        f"Clustering: scikit-learn's KMeans, {m['clusters']} clusters, {p.get('init', 'random')} "
        f"initialisation, at most {m['max_iter']:,} iterations, the best of {m['n_init']} restarts (seed "
        f"{m['seed']}). Each cluster is named after the word nearest its centre, followed by the next "
        f"{p['words_per_cluster']} (Euclidean distance, which orders unit vectors as the cosine does). The "
        f"map is scikit-learn's t-SNE of every row (perplexity {m['tsne_perplexity']:g}, "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in p["tsne"].items() if k != "perplexity") + ").",
    ]
    for name, r in results.items():
        clusters = _clusters(r)
        rows = [Row([str(c["cluster"]), c["name"], f"{c['size']:,}", ", ".join(c["words"]),
                     f"{c['in_cluster']} / {len(c['words']) + 1}"]) for c in clusters]
        shown = len(clusters[0]["words"])
        part.results = Table(["cluster", "name (nearest word)", "words",
                              f"the next {shown} nearest the centre", "of these in the cluster"], rows)
        part.figures.append(Figure(r.file("tsne.png"),
                                   f"{r.variant.id}: t-SNE of the caption words' GloVe rows, coloured by "
                                   f"KMeans cluster; a cross marks the word nearest each centre"))
        part.observations.append(
            f"{name}: cluster sizes {min(r.metrics['cluster_sizes']):,} to "
            f"{max(r.metrics['cluster_sizes']):,} words; KMeans converged in "
            f"{r.metrics['kmeans_iterations']} iterations (of {r.metrics['max_iter']:,} allowed); silhouette "
            f"(cosine) {fmt(r.metrics['silhouette_cosine'], digits=3)}.")
        if r.metrics["most_frequent_missing"]:
            part.observations.append(
                f"{name}: the most frequent caption words GloVe does not know: "
                + ", ".join(f"{w} ({c:,})" for w, c in r.metrics["most_frequent_missing"][:5]) + ".")


def seed_cluster_names(ctx: Context) -> list[str]:
    """The seed's cluster names («Cluster 0 =love ...»), as references.yaml quotes them among its findings."""
    for finding in ctx.seed_findings():
        names = re.findall(r"Cluster \d+ =([^\s,]+)", finding.quote)
        if names:
            return names
    return []


def extraction_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    answer = (f"Of the {m['caption_words']:,} distinct words of the captions, GloVe knows "
              f"{m['found_in_glove']:,} ({m['found_pct']:.1f} %); they carry "
              f"{m['occurrences_covered_pct']:.1f} % of the {m['caption_occurrences']:,} word occurrences"
              + ("; the most frequent of the words it lacks: "
                 + ", ".join(f"{w} ({c:,})" for w, c in m["most_frequent_missing"][:5])
                 if m["most_frequent_missing"] else "")
              + f". With <start> and <end> the matrix has {m['rows']:,} rows of {m['dim']} values.")
    return Question("Pour créer notre matrice, nous avons parcouru les embeddings vectoriel glove pour "
                    "extraire ceux qui correspondent à nos légendes, nous avons ensuite associé chaque mot à "
                    "son embeddings", f"{SOURCE}, ex. 2 a)", answer + (SMOKE if ctx.smoke else ""))


def normalisation_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    equation = figures.equation(r"\|u - v\|^2 = \|u\|^2 + \|v\|^2 - 2\,u \cdot v = 2 - 2\cos(u, v)"
                                r"\quad\mathrm{when}\quad \|u\| = \|v\| = 1",
                                Path(ctx.figures_dir) / "glove_unit_distance.svg")
    rho = m.get("glove_norm_rank_spearman")
    trend = ("" if rho is None else
             f"; their Spearman correlation with the word's rank in GloVe (most frequent first) is {rho:+.2f}"
             + (": rarer words have longer vectors" if rho > 0.1 else ": frequent words have longer vectors"
                if rho < -0.1 else ": length and frequency are not related here"))
    answer = (f"GloVe's vectors are not of one length: their norms run from {m['glove_norm_min']:.2f} to "
              f"{m['glove_norm_max']:.2f} (mean {m['glove_norm_mean']:.2f}){trend}. KMeans measures "
              f"Euclidean distances; once every row has norm 1, the squared distance is 2 − 2 cos (below), "
              f"so KMeans then groups words by the angle between their vectors, the cosine similarity the "
              f"seed names; a vector's length no longer counts.")
    return Question("nous avons normalisé les vecteurs embeddings dans le but d'avoir les mêmes amplitudes. "
                    "Cette normalisation nous permettra d'améliorer les performances du modèle en faisant la "
                    "similitude cosinus de deux mots.", f"{SOURCE}, ex. 2 b)",
                    answer + (SMOKE if ctx.smoke else ""), equations=[str(equation)])


def clusters_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    clusters = _clusters(r)
    answer = (f"KMeans stopped after {m['kmeans_iterations']} iterations, "
              + ("before" if m["kmeans_iterations"] < m["max_iter"] else "at")
              + f" the {m['max_iter']:,} allowed (it stops when the assignments no longer change); clusters "
                f"of "
              f"{min(m['cluster_sizes']):,} to {max(m['cluster_sizes']):,} words, named after their nearest "
              f"words: {', '.join(c['name'] for c in clusters)}.")
    names = seed_cluster_names(ctx)
    vocabulary = {c["name"] for c in clusters} | {w for c in clusters for w in c["words"]}
    if names:
        placed = [n for n in names if n in vocabulary]
        answer += (f" The seed's names ({', '.join(names)}) are other words: KMeans starts from random "
                   f"centres and its clusters depend on them; the themes are what compares. {len(placed)} of "
                   f"the seed's {len(names)} names are among the words our table shows.")
    return Question("Après avoir entraîné l'algorithme de clustering Kmeans avec 1000 iterations et 10 "
                    "groupes nous avons obtenu les 20 mots les plus proches des clusters",
                    f"{SOURCE}, ex. 2 b), figure 18",
                    answer + (SMOKE if ctx.smoke else ""))


def tsne_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    distinct = m["centre_cosine_max"] < m["word_centre_cosine_mean"]
    answer = (f"On the unit sphere the centres' cosines with each other are at most "
              f"{m['centre_cosine_max']:.3f} (mean {m['centre_cosine_mean']:.3f}), while a word's cosine "
              f"with its own centre is {m['word_centre_cosine_mean']:.3f} on average; the silhouette "
              f"(cosine) is {fmt(m['silhouette_cosine'], digits=3)} (1: perfectly separated clusters, 0: "
              f"overlapping). ")
    if ctx.smoke:
        answer += SMOKE.strip()
    else:
        low = (m["silhouette_cosine"] or 0) < 0.25
        if distinct:
            answer += ("Every two centres are further apart than a typical word is from its own centre: the "
                       "centres are distinct, as the seed saw on its map"
                       + (", but a silhouette this low says the clusters themselves overlap: t-SNE's map "
                          "separates them more than the 102-d space does." if low else "."))
        else:
            answer += ("Some centres are closer to each other than a typical word to its centre: the centres "
                       "are less distinct than the seed's map suggests" + ("; the low silhouette says the "
                                                                           "same of "
                                                                       "the clusters." if low else "."))
    return Question("la méthode t-SNE nous a permit de visualiser les centres des clusters par une croix sur "
                    "la figure ci dessous : nous constatons que les centres des différents clusters sont "
                    "bien distincts.", f"{SOURCE}, ex. 2 b), figure 19", answer)


def glove_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    for r in results.values():
        part.questions += [extraction_question(r, ctx), normalisation_question(r, ctx),
                           clusters_question(r, ctx), tsne_question(r, ctx)]


EXPERIMENTS = {"charrnn": charrnn_questions, "glove_clusters": glove_questions}


# ------------------------------------------------------------------------------------------ discussion

def loss_course(epoch: int, lowest: float, final: float, rises: bool, data: str) -> str:
    """The test loss's course in words (`questions.test_loss_course`'s numbers)."""
    verdict = (f": it rises, the network starts to learn {data} by heart." if rises
               else ", within the 5 % we take for noise: no sign of overfitting.")
    return (f"The test loss is lowest at epoch {epoch} ({lowest:.3f}) and ends "
            f"{100 * (final / lowest - 1):.1f} % above it ({final:.3f}){verdict}")


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """What the char-RNN learnt against its baselines and the seed, what the temperature does, what the
    clusters show; the conclusion."""
    smoke = summary.scale == "smoke"
    for name, r in results.get("charrnn", {}).items():
        m = r.metrics
        text = (f"The char-RNN ({name}, {m['params']:,} parameters) predicts the next character of the test "
                f"part {m['test_acc']:.2f} % of the time, against {m['chance_acc']:.2f} % by chance and "
                f"{m['majority_test_acc']:.2f} % by always answering the most frequent character.")
        part = next((p for p in summary.experiments if p.name == "charrnn"), None)
        compared = questions.seed_comparison(part) if part else None
        if compared:
            text += f" Against the seed: {compared}."
        if enough_epochs(r.history, smoke):
            epoch, lowest, final, rises = questions.test_loss_course(r.history)
            text += " " + loss_course(epoch, lowest, final, rises, "the training text")
        else:
            text += f" Over- or under-fitting: {NOT_ENOUGH_EPOCHS}."
        summary.discussion.append(text)
        generated = _samples(r)["samples"]
        if generated:
            summary.discussion.append(
                "Temperature trades correctness for variety: "
                + "; ".join(f"T = {s['temperature']:g}: {s['words_in_corpus_pct']:.1f} % of the words exist, "
                            + (f"loop of {s['loop_period']} characters" if s["loop_period"] else "no loop")
                            for s in generated) + "."
                + (" (smoke scale: the network has barely trained)" if smoke else ""))
    for name, r in results.get("glove_clusters", {}).items():
        m = r.metrics
        summary.discussion.append(
            f"The {m['rows']:,} caption words ({name}) fall into {m['clusters']} KMeans clusters of "
            f"{min(m['cluster_sizes']):,} to {max(m['cluster_sizes']):,} words (silhouette "
            f"{fmt(m['silhouette_cosine'], digits=3)}); GloVe knows {m['found_pct']:.1f} % of the caption "
            f"words, {m['occurrences_covered_pct']:.1f} % of their occurrences, so chapter captioning loses "
            f"few words by using these vectors.")
    if smoke:
        summary.discussion.append("At smoke scale the corpus is a few poems, GloVe a few hundred synthetic "
                                  "words and the training two epochs: nothing here says anything about the "
                                  "methods.")
    for name, r in results.get("charrnn", {}).items():
        m = r.metrics
        summary.conclusion.append(f"The char-RNN ({name}) reaches {m['test_acc']:.2f} % next-character "
                                  f"accuracy on the end of the book, "
                                  f"{m['test_acc'] / max(m['majority_test_acc'], 1e-9):.1f} times the "
                                  f"most-frequent-character baseline, with {m['params']:,} parameters.")
        generated = _samples(r)["samples"]
        looped = [s["temperature"] for s in generated if s["loop_period"]]
        if generated:
            which = (f" (T = {', '.join(f'{t:g}' for t in looped)})" if looped
                     else " (no loop in our samples)")
            summary.conclusion.append(f"Low temperatures make it loop{which}, high ones make it spell "
                                      "nonsense: sampling needs a temperature in between.")
    for r in results.get("glove_clusters", {}).values():
        summary.conclusion.append(f"GloVe's caption words form {r.metrics['clusters']} clusters, each named "
                                  f"after its nearest word in the table; chapter captioning reuses the "
                                  f"vectors.")
    if smoke:
        summary.conclusion.append(f"Over- and under-fitting: {NOT_ENOUGH_EPOCHS} at smoke scale.")

