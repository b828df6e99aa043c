"""The report part of chapter `captioning`: the data in numbers (vocabulary, tensors, PCA), the network
from the built model, the masked accuracy against the seed's, BLEU (ours and the course's way) against
the seed's, the captions (verbatim and on the photos); seed 002 TP 5's exercises answered; the
discussion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from reprolab.chapters.captioning.data import BLEU_WEIGHTS
from reprolab.chapters.sequences.report import loss_course
from reprolab.models import build_model, count_parameters
from reprolab.models.sequences import keras_rnn_parameters
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
    trained_epochs,
    verdict,
)

SOURCE = "seed 002, TP 5"
SMOKE = questions.SMOKE_NOTE
BLEU_SCALE = 0.01  # BLEU is in [0, 1]: one point of report.tolerance is 0.01


def _captions(r: VariantResult) -> dict:
    path = Path(r.file("captions.json"))
    return json.loads(path.read_text()) if path.is_file() else {"images": [], "greedy_first": []}


def built(r: VariantResult):
    return build_model(r.variant.params["model"], **r.metrics["model_options"])


def show_and_tell(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Method, setup, the network layer by layer, BLEU, the vocabulary and captions figures, the captions."""
    rows = []
    for name, r in results.items():
        m, p = r.metrics, r.variant.params
        rows.append(Row([name, method.model_words(p["model"], m["model_options"]), fmt(m["params"]),
                         f"Flickr8k; vocabulary {m['vocabulary']:,}; captions padded to {m['length']}",
                         f"{m['n_train']:,} / {m['n_test']:,} captions",
                         method.optimizer_words(p["optimizer"]),
                         str(p["batch_size"]), str(p["epochs"]), ", ".join(map(str, r.variant.seeds))]))
        part.method_tables.append(method.network_table(
            built(r), m["input_shape"], f"{method.model_words(p['model'], m['model_options'])}: the network "
                                        f"layer by layer ({name}), on one padded caption"))
    part.setup = method.setup_table(SETUP_COLUMNS, rows)
    first = next(iter(results.values()))
    m, p = first.metrics, first.variant.params
    part.method += [
        f"Data: Flickr8k's official release, its captions lower-cased and split on whitespace. The "
        f"vocabulary keeps the {m['vocabulary']:,} most frequent words of the training captions that have a "
        f"GloVe vector (chapter sequences' rows, {p['embeddings']}), <start> and <end> among them; they "
        f"carry {m['kept_occurrences_pct']:.1f} % of the {m['caption_occurrences']:,} word occurrences, and "
        f"the other words are dropped from the captions. Each caption becomes <start> w1 … wk (input) and w1 "
        f"… wk <end> (target): {m['n_train']:,} training and {m['n_test']:,} test sequences, padded with "
        f"masked steps to the longest training caption, {m['length']} steps; {m['test_cut']} test caption(s) "
        f"longer than that are cut.",
        f"Images: each photo's {m['feature_dim']:,}-d VGG16 relu7 features (torchvision's ImageNet weights; "
        f"extracted once, shared with any other reader), reduced to {m['pca_components']} dimensions by a "
        f"PCA fitted on the {m['pca_fit_images']:,} training photos only, which keeps "
        f"{m['pca_explained_pct']:.1f} % of their variance. The input at every step is [image "
        f"({m['model_options']['image_dim']}) | word ({m['model_options']['word_dim']})], d = "
        f"{m['input_dim']}: the photo is repeated at each step, not fed once as in the original show and "
        f"tell.",
        f"Network: {method.model_words(p['model'], m['model_options'])} ({fmt(m['params'])} trainable "
        f"parameters; the word vectors are fixed).",
        "Training: cross-entropy of the next word over the real steps only"
        + (", averaged over each caption's words, then over the batch (the seed's)"
           if p.get("per_sequence_loss") else "")
        + f"; {method.optimizer_words(p['optimizer'])}, mini-batches of {p['batch_size']} captions, "
        f"{p['epochs']} epochs; {method.seeds_words(first.variant.seeds)}. Accuracy: the share of real steps "
        f"whose most probable word is the target.",
        f"Captions: from [photo | <start>], each predicted word's vector is fed back, until <end> or "
        f"{p['decoding']['max_words']} words; greedy (the most probable word) for BLEU, and sampled at "
        f"temperature {p['decoding']['temperature']:g} for the photos shown. BLEU is NLTK's corpus_bleu "
        f"(cumulative 1- to 4-grams, no smoothing) of one greedy caption per test photo against its "
        f"{len(_captions(first)['images'][0]['references']) if _captions(first)['images'] else 5} "
        f"lower-cased captions; the course's script (hence the seed's numbers) kept only the last caption of "
        f"each photo, in its original case: we give both.",
    ]
    for name, r in results.items():
        m = r.metrics
        if table := bleu_table(r, ctx):
            part.tables.append(table)
        part.figures += [Figure(r.file("vocabulary.png"),
                                "The most frequent words of the training captions: each word's share and the "
                                "cumulative share"),
                         Figure(r.file("photos.png"), f"{r.variant.id}: test photos and their captions")]
        part.observations.append(
            f"{name}: masked word accuracy {m['test_acc']:.2f} % on test, "
            f"{m.get('train_eval_acc', m['train_acc']):.2f} % on train (the trained network on every "
            f"training caption); "
            f"always predicting the most frequent word gives {m['majority_test_acc']:.2f} %. BLEU-1 to 4: "
            + " / ".join(f"{m[f'bleu{n}']:.3f}" for n in range(1, 5)) + f"; the greedy captions use "
            f"{m['greedy_words_mean']:.1f} words on average, {m['greedy_distinct']:,} distinct captions for "
            f"the {m['n_test'] // 5:,} test photos.")
        shown = _captions(r)
        for entry in shown["images"]:
            lines = [f"greedy:      {entry['greedy']}",
                     *(f"T = {shown['temperature']:g}:    {s}" for s in entry["sampled"]),
                     *(f"reference {k}: {c}" for k, c in enumerate(entry["references"], 1))]
            part.texts.append(Text(f"{name}: test photo {entry['name']}", "\n".join(lines)))
        if shown["greedy_first"]:
            part.texts.append(Text(f"{name}: the greedy captions of the first test photos",
                                   "\n".join(f"{e['name']}: {e['greedy']}" for e in shown["greedy_first"])))


def bleu_table(r: VariantResult, ctx: Context) -> Table | None:
    """BLEU-1..4: ours against all five captions, ours the course's way (one caption), the seed's."""
    m = r.metrics
    if "bleu1" not in m:
        return None
    rows = []
    for n in range(1, len(BLEU_WEIGHTS) + 1):
        reference = ctx.reference(r.name, f"bleu{n}")
        course = m.get(f"bleu{n}_course")
        status, diff = verdict(course, reference, ctx.tolerance * BLEU_SCALE, ctx.smoke)
        rows.append(Row([f"BLEU-{n}", fmt(m[f"bleu{n}"], m.get(f"bleu{n}_std"), 3),
                         fmt(course, m.get(f"bleu{n}_course_std"), 3), reference.text() if reference else "—",
                         reference.source_text() if reference else "—",
                         "—" if diff is None else f"{diff:+.3f}", status], status))
    return Table(["", "ours: five lower-cased references",
                  "ours, the course's way: the last caption, as written", "seed's", "source",
                  "difference (the course's way)", "verdict"], rows,
                 f"{r.name}: BLEU of the greedy captions of the {m['n_test'] // 5:,} test photos (NLTK "
                 f"corpus_bleu; matches within {ctx.tolerance * BLEU_SCALE:g})")


# ------------------------------------------------------------------------------------------ questions

def vocabulary_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    top = ", ".join(f"«{w}» {100 * c / m['caption_occurrences']:.1f} %" for w, c in m["top_words"][:5])
    answer = (f"The training captions have {m['caption_words']:,} distinct words "
              f"({m['caption_occurrences']:,} occurrences), {m['words_with_vector']:,} of them with a GloVe "
              f"vector. Their frequencies fall fast: the most frequent, {top}; the 100 most "
              f"frequent carry {m['top100_occurrences_pct']:.1f} % of the occurrences. Keeping the "
              f"{m['vocabulary']:,} most frequent (<start> and <end> included) keeps "
              f"{m['kept_occurrences_pct']:.1f} % of the word occurrences"
              + (f" while the output layer shrinks from {m['words_with_vector'] + 2:,} to "
                 f"{m['vocabulary']:,} scores: faster training for few lost words."
                 if m["vocabulary"] < m["words_with_vector"] + 2 else ": every word with a vector is kept."))
    return Question("Pour accélérer le temps nécessaire à l'entraînement du modèle ,nous allons considéré un "
                    "sous ensemble de mots utilisés dans le TP4 , nous allons ensuite extraire l' "
                    "histogramme d'occurrence des mots présents dans les légendes",
                    f"{SOURCE}, ex. 1, figure 21",
                    answer + (SMOKE if ctx.smoke else ""))


def tensors_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    rows = []
    for metric, label, ours in (("n_train", "N_s (training sequences)", m["n_train"]),
                                ("length", "L_s (steps)", m["length"]),
                                ("input_dim", "d (input size)", m["input_dim"])):
        reference = ctx.reference(r.name, metric)
        rows.append(Row([label, f"{ours:,}", reference.text() if reference else "—",
                         reference.source_text() if reference else "—"]))
    answer = (f"Ours: N_s = {m['n_train']:,} ({m['n_train'] // 5:,} photos × 5 captions), L_s = "
              f"{m['length']} and d = {m['input_dim']} ({m['model_options']['image_dim']} for the photo, "
              f"{m['model_options']['word_dim']} for the word), so X is {m['n_train']:,} × {m['length']} × "
              f"{m['input_dim']} and the test tensor {m['n_test']:,} × {m['length']} × {m['input_dim']} (the "
              f"same length; its longest caption has {m['test_longest']} steps, {m['test_cut']} cut). L_s "
              f"counts the kept words of the longest training caption plus one (<start> in the input, <end> "
              f"in the target); a caption's mean is {m['train_steps_mean']:.1f} steps, so "
              f"{100 * (1 - m['train_steps_mean'] / m['length']):.0f} % of X's steps are padding, which the "
              f"mask keeps out of the loss. We store word ids and build each step's "
              f"{m['input_dim']} values on the fly (a float X would take "
              f"{m['n_train'] * m['length'] * m['input_dim'] * 4 / 2**20:,.0f} MiB).")
    table = Table(["quantity", "ours", "seed's", "source"], rows, "The training tensor's dimensions")
    return Question("Le tenseur des données X sera de taille N_s × L_s × d où N_s est le nombre de séquence "
                    "(légendes), L_s est la longueur de la séquence et d est la taille du vecteur décrivant "
                    "chaque mot de la séquence.", f"{SOURCE}, ex. 2", answer, [table])


def network_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    model = built(r)
    d, hidden, vocabulary = m["input_dim"], model.rnn.hidden_size, m["vocabulary"]
    rnn, dense = count_parameters(model.rnn), count_parameters(model.head)
    rows = [Row(["SimpleRNN", f"{d}×{hidden} + {hidden}×{hidden} + {hidden}",
                 f"{keras_rnn_parameters(d, hidden):,}", f"{rnn:,}"]),
            Row(["fully connected", f"{hidden}×{vocabulary} + {vocabulary}",
                 f"{hidden * vocabulary + vocabulary:,}", f"{dense:,}"]),
            Row(["total", "", f"{keras_rnn_parameters(d, hidden) + hidden * vocabulary + vocabulary:,}",
                 f"{count_parameters(model):,}"])]
    answer = (f"The masking layer has no weights: it marks the padded steps, which keep the previous state "
              f"and count in neither the loss nor the accuracy. The SimpleRNN reads d = {d} values per step "
              f"into {hidden} units, {rnn:,} parameters (one bias, as Keras'); the fully connected layer "
              f"scores the {vocabulary:,} words, {dense:,} parameters, "
              f"{100 * dense / count_parameters(model):.0f} % of the {count_parameters(model):,}. The "
              f"softmax turns the scores into the next word's distribution.")
    table = Table(["layer", "Keras' formula", "formula's count", "built model"], rows,
                  "The captioning network's parameters (the seed gives none)")
    return Question("une couche de Masking avec une taille d'entrée de (35,202) [...] Une couche de réseau "
                    "récurrent de type SimpleRNN avec 100 neurones dans la couche cachée qui renvoie une "
                    "prédiction pour chaque élément de la séquence d'entrée . Une couche complètement "
                    "connectée, suivie d'une fonction d'activation softmax.", f"{SOURCE}, ex. 3", answer,
                    [table])


def optimisation_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    h = trained_epochs(r.history)
    initial, final = m["initial_loss"], m["train_loss"]
    answer = (f"Before training the loss is {initial:.3f}, close to ln {m['vocabulary']:,} = "
              f"{math.log(m['vocabulary']):.3f} (every word equally likely); after "
              f"{int(h['epoch'].iloc[-1])} epochs it is {final:.3f} on train and {m['test_loss']:.3f} on "
              f"test: the loss is optimised. The masked accuracy, {m['test_acc']:.2f} % on test, is "
              f"{m['test_acc'] / max(m['majority_test_acc'], 1e-9):.1f} times what always predicting the "
              f"most frequent word gives ({m['majority_test_acc']:.2f} %). A photo has many right captions: "
              f"the next word is often open, so a low per-word accuracy does not mean the model fails to "
              f"learn.")
    if ctx.smoke:
        return Question(QUOTE_LOSS, f"{SOURCE}, ex. 3, figure 22", answer + SMOKE)
    holds = final > 0.9 * initial
    answer += (" The seed's explanation does not hold here: the loss falls well below its starting value."
               if not holds else " The loss barely moves: the seed's explanation holds here.")
    return Question(QUOTE_LOSS, f"{SOURCE}, ex. 3, figure 22", answer)


QUOTE_LOSS = ("Nous constatons que le score obtenue est très faibles car le modèle n'arrive pas optimiser la "
              "fonction coût.")


def bleu_question(r: VariantResult, ctx: Context) -> Question:
    m = r.metrics
    ours = " / ".join(f"{m[f'bleu{n}']:.3f}" for n in range(1, 5))
    course = " / ".join(f"{m[f'bleu{n}_course']:.3f}" for n in range(1, 5))
    seed = [ctx.reference(r.name, f"bleu{n}") for n in range(1, 5)]
    answer = (f"BLEU-n is the geometric mean of the 1- to n-gram precisions of our captions against the "
              f"human ones, times a brevity penalty: it falls with n, since longer n-grams match less often. "
              f"Ours (BLEU-1 to 4): {ours} against all five lower-cased captions; {course} the course's way "
              f"(the last caption alone, as written)")
    if all(seed):
        answer += f"; the seed's: {' / '.join(s.text() for s in seed)}"
    answer += (". More references give more chances to match, hence the higher first numbers; comparing with "
               "the seed takes the second set.")
    return Question("Le BLEU score trouvé varie entre 0.12 et 0.56 et donc notre modèle n'a pas une assez "
                    "bonne performance quant à la prédiction des légendes de l'image",
                    f"{SOURCE}, ex. 4, figure 24",
                    answer + (SMOKE if ctx.smoke else ""))


def photo_question(r: VariantResult, ctx: Context) -> Question | None:
    shown = _captions(r)["images"]
    names = r.variant.params["decoding"].get("images", [])
    entry = next((e for e in shown if e["name"] in names), None)
    if entry is None:
        return None
    reference = entry["references"][0].lower().split()
    greedy = entry["greedy"].split()
    common = sum(min(greedy.count(w), reference.count(w)) for w in set(greedy))
    answer = (f"Our greedy caption for {entry['name']}: «{entry['greedy']}»; sampled at T = "
              f"{_captions(r)['temperature']:g}: " + "; ".join(f"«{s}»" for s in entry["sampled"])
              + f". {common} of its {len(greedy)} words appear in the reference «{entry['references'][0]}» "
              f"(all captions and the photo: below the results).")
    return Question("image name=452419961_6d42ab7000.jpg caption=<start> Three children in a black dog "
                    "kennel . <end>", f"{SOURCE}, ex. 4, figure 23", answer + (SMOKE if ctx.smoke else ""))


def show_and_tell_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    for r in results.values():
        found = [vocabulary_question(r, ctx), tensors_question(r, ctx), network_question(r, ctx),
                 optimisation_question(r, ctx), bleu_question(r, ctx), photo_question(r, ctx)]
        part.questions += [q for q in found if q is not None]


EXPERIMENTS = {"show_and_tell": show_and_tell_questions}


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """Accuracy and BLEU against the seed and the baselines, the captions' variety, fitting; the
    conclusion."""
    smoke = summary.scale == "smoke"
    part = next((p for p in summary.experiments if p.name == "show_and_tell"), None)
    for name, r in results.get("show_and_tell", {}).items():
        m = r.metrics
        text = (f"{name} predicts the next word of a test caption {m['test_acc']:.2f} % of the time (the "
                f"most frequent word alone: {m['majority_test_acc']:.2f} %).")
        if compared := (questions.seed_comparison(part) if part else None):
            text += f" Against the seed: {compared}."
        summary.discussion.append(text)
        photos = m["n_test"] // 5
        few = m["greedy_distinct"] < photos / 2
        summary.discussion.append(
            f"Its greedy captions score BLEU-4 {m['bleu4']:.3f} against five references and "
            f"{m['bleu4_course']:.3f} against one; the {photos:,} test photos get {m['greedy_distinct']:,} "
            f"distinct greedy captions"
            + (": greedy decoding falls back on the most frequent phrasings, which sampling (the captions at "
               "temperature) trades for variety and mistakes." if few else ", most photos their own."))
        if enough_epochs(r.history, smoke):
            epoch, lowest, final, rises = questions.test_loss_course(r.history)
            summary.discussion.append(loss_course(epoch, lowest, final, rises, "the training captions"))
        else:
            summary.discussion.append(f"Over- or under-fitting: {NOT_ENOUGH_EPOCHS}.")
    if smoke:
        summary.discussion.append("At smoke scale the photos are coloured discs, the captions templates, "
                                  "VGG16 randomly initialised and the training two epochs: nothing here says "
                                  "anything about the method.")
    for name, r in results.get("show_and_tell", {}).items():
        m = r.metrics
        summary.conclusion.append(f"{name}: {m['test_acc']:.2f} % masked word accuracy on test, BLEU-1 to 4 "
                                  + " / ".join(f"{m[f'bleu{n}']:.3f}" for n in range(1, 5))
                                  + " against the five human captions.")
    if smoke:
        summary.conclusion.append(f"Over- and under-fitting: {NOT_ENOUGH_EPOCHS} at smoke scale.")
