"""The Method part of an experiment, in words and tables, computed from the config and the results.

- `train_method(results)`: paragraphs on the data, the network and the training of `train`
  variants; what all variants share is said once, what varies is left to the setup table.
- `setup_row(variant, metrics)` and `setup_table(rows)`: one row per variant, in words (no
  internal model names), the columns where every variant agrees left out.
- `network_table(model, input_shape, title)`: a built network layer by layer (`reprolab.
  architecture`), activations, normalisation and dropout folded into the layer they follow;
  `network_tables(results)` makes one per distinct (model, options) of an experiment.
- `optimizer_words`, `augment_words`, `model_words`, `dataset_name`: settings in words, for any
  summariser.
- `origins_table(origins, experiment, datasets)`: which settings are the seed's and which are ours,
  from config.yaml's comments (`reprolab.report.origins`).

A network's name is the first sentence of its builder's docstring (`reprolab.models`); a
dataset's is its module's docstring up to the first comma or colon.
"""

from __future__ import annotations

import inspect
import json
import re

from torch import nn

from reprolab import architecture
from reprolab.models import MODELS, _register_all, build_model, count_parameters
from reprolab.registry import Variant
from reprolab.report.origins import short, whose
from reprolab.report.parts import Row, Table, VariantResult, fmt

OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "adadelta": "Adadelta", "rmsprop": "RMSprop"}
ACTIVATIONS = {"ReLU": "ReLU", "Tanh": "tanh", "Sigmoid": "sigmoid", "LeakyReLU": "leaky ReLU", "ELU": "ELU",
               "GELU": "GELU", "Softmax": "softmax", "LogSoftmax": "log-softmax"}
NORMALISATIONS = {"BatchNorm1d", "BatchNorm2d", "LayerNorm"}
DROPOUTS = {"Dropout", "Dropout2d"}
WEIGHTED = {"Conv1d": "conv", "Conv2d": "conv", "ConvTranspose2d": "deconv", "Linear": "fc",
            "Embedding": "embedding", "RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
POOLING = ("MaxPool2d", "AvgPool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d")
NETWORK_COLUMNS = ["layer", "description", "output shape", "parameters", "receptive field"]
ORIGIN_COLUMNS = ["setting", "value", "whose", "config.yaml says"]


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring, on one line, without its final full stop."""
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    return re.split(r"(?<=[^.\s]{2})\.(?:\s|$)", paragraph, maxsplit=1)[0].rstrip(".").replace("`", "")


def model_title(name: str) -> str:
    """A network in words: the first sentence of its builder's docstring."""
    _register_all()
    builder = MODELS.get(name)
    return first_sentence(builder.__doc__) if builder is not None and builder.__doc__ else name


def option_words(key: str, value) -> str:
    """One model option in words: `batchnorm: true` -> "batch normalisation", `dropout: 0.5` ->
    "dropout 0.5"."""
    words = {"batchnorm": "batch normalisation", "pool": "2×2 max pooling"}.get(key, key.replace("_", " "))
    if key == "input_size":
        return f"{value}×{value} input"
    if key == "hidden" and not isinstance(value, bool):
        return f"{value} hidden units"
    if isinstance(value, bool) or (key == "dropout" and not value):
        return words if value else f"no {words}"
    if isinstance(value, float):
        return f"{words} {value:g}"
    return f"{words} {value}"


def model_words(name: str, options: dict | None = None) -> str:
    """A network and its options in words, e.g. "The TME's CIFAR-10 CNN, 28×28 input, dropout 0.5"."""
    return ", ".join([model_title(name), *(option_words(k, v) for k, v in (options or {}).items())])


def with_defaults(name: str, options: dict | None, keys) -> dict:
    """A model's `options` and, for the `keys` it does not set, its builder's defaults."""
    _register_all()
    parameters = inspect.signature(MODELS[name]).parameters
    options = dict(options or {})
    return {key: options[key] if key in options else parameters[key].default
            for key in dict.fromkeys([*keys, *options]) if key in options or key in parameters}


def dataset_name(name: str) -> str:
    """A dataset's name: its module's docstring up to the first comma or colon ("CIFAR-10")."""
    from reprolab.data.datasets import dataset_module, known

    if name not in known():
        return name
    return re.split(r"[,:]", first_sentence(dataset_module(name).__doc__), maxsplit=1)[0].strip() or name


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def schedule_words(scheduler: dict | None) -> str:
    """A per-epoch learning-rate schedule in words ("" for none)."""
    if not scheduler:
        return ""
    s = dict(scheduler)
    name, gamma = s.pop("name"), s.pop("gamma", None)
    if name == "exponential":
        text = f"exponential decay ×{_number(gamma)} per epoch"
    elif name == "step":
        every = int(s.pop("step_size"))
        text = f"step decay ×{_number(gamma if gamma is not None else 0.1)} every " \
               + ("epoch" if every == 1 else f"{every} epochs")
        gamma = None
    elif name == "multistep":
        after = [int(m) for m in s.pop("milestones")]
        text = (f"learning rate ×{_number(gamma if gamma is not None else 0.1)} after epoch"
                + ("s " if len(after) > 1 else " ") + " and ".join(map(str, after)))
        gamma = None
    elif name == "cosine":
        text = f"cosine annealing over {_number(s.pop('T_max', '?'))} epochs"
    else:
        text = f"{name} schedule"
    if gamma is not None and name != "exponential":
        s["gamma"] = gamma
    return ", ".join([text, *(f"{k.replace('_', ' ')} {_number(v)}" for k, v in s.items())])


def optimizer_words(settings: dict, scheduler: dict | None = None) -> str:
    """An optimiser and its schedule in words, e.g. "SGD, learning rate 0.1, momentum 0.9,
    exponential decay ×0.95 per epoch"."""
    s = dict(settings or {})
    name = s.pop("name", "?")
    parts = [OPTIMIZERS.get(name, name)]
    if "lr" in s:
        parts.append(f"learning rate {_number(s.pop('lr'))}")
    if betas := s.pop("betas", None):
        parts.append(f"β₁ {_number(betas[0])}, β₂ {_number(betas[1])}")
    for key, label in (("momentum", "momentum"), ("weight_decay", "weight decay")):
        if s.get(key):
            parts.append(f"{label} {_number(s.pop(key))}")
        s.pop(key, None)
    if s.get("nesterov"):
        parts[-1] += " (Nesterov)"
    s.pop("nesterov", None)
    if clip := s.pop("clip_grad_norm", None):
        parts.append(f"gradient norm clipped at {_number(clip)}")
    if frozen := s.pop("frozen", None):
        parts.append(f"{', '.join(frozen)} frozen")
    for group in s.pop("groups", None) or []:
        group = dict(group)
        modules = ", ".join(group.pop("modules", []))
        parts.append(f"{modules}: " + ", ".join(f"{'learning rate' if k == 'lr' else k.replace('_', ' ')} "
                                                 f"{_number(v)}" for k, v in group.items()))
    parts += [f"{k.replace('_', ' ')} {_number(v)}" for k, v in s.items()]
    if schedule := schedule_words(scheduler):
        parts.append(schedule)
    return ", ".join(parts)


def augment_words(augment: dict | None) -> str:
    """The training-time augmentation in words ("" for none)."""
    augment = augment or {}
    words = []
    if crop := augment.get("crop"):
        words.append(f"a random {crop}×{crop} crop")
    if augment.get("hflip"):
        words.append("a horizontal flip with probability ½")
    if rotation := augment.get("rotation"):
        words.append(f"a rotation by an angle uniform in [−{_number(rotation)}°, {_number(rotation)}°]")
    if jitter := augment.get("color_jitter"):
        words.append(f"colour jitter (brightness, contrast and saturation factors uniform in "
                     f"[{1 - jitter:g}, {1 + jitter:g}])")
    return ", ".join(words)


def preprocessing_words(params: dict) -> str:
    """How a variant's inputs are prepared, in short: for the setup table."""
    words = []
    if params.get("swap_splits"):
        words.append("train and test splits swapped")
    words.append("standardised" if params.get("standardize") else "not standardised")
    if augment := augment_words(params.get("augment")):
        words.append("augmented: " + augment.replace("a random ", "random ")
                     .replace(" with probability ½", ""))
    return "; ".join(words)


def seeds_words(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"one run (seed {seeds[0]})"
    return f"{len(seeds)} runs (seeds {', '.join(map(str, seeds))}); the tables give their mean ± std"


# ------------------------------------------------------------------------------------------ setup table

SETUP_KEEP = ("variant", "model", "parameters")  # columns kept even where every variant agrees


def model_cells(results: dict[str, VariantResult]) -> dict[str, str]:
    """The setup table's model cell of each `train` variant: the network and its options in words;
    only the options when every variant has the same network (the paragraphs name it), with the
    default of an option that another variant sets ("no dropout" beside "dropout 0.5")."""
    trained = _trained(results)
    keys = [k for r in trained.values() for k in r.variant.params.get("model_options") or {}]
    if len({r.variant.params["model"] for r in trained.values()}) > 1 or not keys:
        return {name: model_words(r.variant.params["model"], r.variant.params.get("model_options"))
                for name, r in trained.items()}
    return {name: ", ".join(option_words(k, v) for k, v in with_defaults(
                r.variant.params["model"], r.variant.params.get("model_options"), keys).items())
            for name, r in trained.items()}


def setup_row(variant: Variant, metrics: dict, model: str | None = None) -> list[str]:
    """A `train` variant's setup cells, in the order of `generic.SETUP_COLUMNS`; `model`: the model
    cell (`model_cells`), by default the network and its options in words."""
    p = variant.params
    model = model or model_words(p["model"], p.get("model_options"))
    return [variant.name, model, fmt(metrics.get("params")),
            f"{dataset_name(p['dataset'])}; {preprocessing_words(p)}",
            f"{metrics.get('n_train', 0):,} / {metrics.get('n_test', 0):,}",
            optimizer_words(p.get("optimizer", {}), p.get("scheduler")), str(p["batch_size"]),
            str(p["epochs"]), ", ".join(map(str, variant.seeds))]


def setup_table(columns: list[str], rows: list[Row], keep=SETUP_KEEP) -> Table:
    """The setup table without the columns where every variant has the same value (the method's
    paragraphs say those once), but for `keep`."""
    shown = [i for i, column in enumerate(columns)
             if column in keep or len({row.cells[i] for row in rows}) > 1]
    return Table([columns[i] for i in shown],
                 [Row([row.cells[i] for i in shown], row.verdict) for row in rows])


# ------------------------------------------------------------------------------------------ networks

def _shape(shape) -> str:
    if isinstance(shape, dict):
        return ", ".join(f"{key} {_shape(value)}" for key, value in shape.items())
    return f"{shape[0]:,}" if len(shape) == 1 else " × ".join(map(str, shape))


def _modifier(layer: architecture.Layer) -> str | None:
    """The words of a layer folded into the one before it (activation, normalisation, dropout)."""
    if layer.kind in ACTIVATIONS:
        return ACTIVATIONS[layer.kind]
    if layer.kind in NORMALISATIONS:
        return "batch normalisation" if layer.kind.startswith("BatchNorm") else "layer normalisation"
    if layer.kind in DROPOUTS:
        return layer.description
    return None


def _branches(model: nn.Module) -> dict[str, str]:
    """The module paths of the model's `ModuleDict`s (one branch per key, e.g. one per modality),
    each with the class of the module that holds it (what merges the branches, e.g. `Concat`)."""
    modules = dict(model.named_modules())
    return {name + ".": type(modules[name.rpartition(".")[0]]).__name__
            for name, module in modules.items() if isinstance(module, nn.ModuleDict) and name}


def network_rows(model: nn.Module, input_shape) -> list[Row]:
    """The network's rows: one per layer that computes (convolution, pooling, fully connected...),
    with the activation, normalisation and dropout after it folded into its description, a flatten
    folded into the layer after it (or the last of its branch); a parameter-free layer that changes
    nothing (a crop to the size the input has) is left out. Then the total, `count_parameters`."""
    found = architecture.layers(model, architecture.example_input(input_shape))
    branches = _branches(model)
    rows: list[dict] = []
    counters: dict[str, int] = {}
    pending: list[str] = []  # a flatten (and what follows it), folded into the next layer
    previous = None if isinstance(input_shape, dict) else tuple(input_shape)
    for layer in found:
        holder = next((b for b in branches if layer.name.startswith(b)), "")
        branch = holder + layer.name[len(holder):].split(".")[0] + "." if holder else ""
        words = "flatten" if layer.kind == "Flatten" else _modifier(layer)
        if pending and rows and branch != rows[-1]["branch"]:  # a branch ends flattened
            rows[-1]["description"] += "".join(f", + {w}" for w in pending)
            rows[-1]["shape"], pending = previous, []
        if words and (pending or layer.kind == "Flatten" or not rows):
            pending.append(words)
        elif words:
            rows[-1]["description"] += f", + {words}"
            rows[-1]["params"] += layer.params
            rows[-1]["shape"] = layer.output_shape
        elif layer.params == 0 and layer.kind not in POOLING and layer.output_shape == previous:
            pass
        else:
            kind = WEIGHTED.get(layer.kind) or ("pool" if layer.kind in POOLING else layer.kind)
            numbered = layer.kind in WEIGHTED or layer.kind in POOLING
            counter = branch + ("weighted" if layer.kind in WEIGHTED else kind)
            counters[counter] = counters.get(counter, 0) + 1
            label = (branch.split(".")[-2] + " " if branch else "") + kind
            label += str(counters[counter]) if numbered else ""
            merged = []
            if rows and rows[-1]["branch"] and not branch:  # the first layer after the branches
                merged = [f"the branches merged ({branches[rows[-1]['branch'].rsplit('.', 2)[0] + '.']})"]
            field = layer.receptive_field
            rf = "—"
            if layer.kind.startswith(("Conv", *POOLING)) and layer.kind != "ConvTranspose2d":
                rf = "whole input" if field is None else f"{field[0]}×{field[1]}"
            rows.append({"label": label, "branch": branch, "params": layer.params, "rf": rf,
                         "shape": layer.output_shape,
                         "description": ", ".join(merged + pending + [layer.description])})
            pending = []
        previous = layer.output_shape
    if pending:
        rows.append({"label": "output", "description": ", ".join(pending), "shape": previous, "params": 0,
                     "rf": "—"})
    table = [Row(["input", "one example", _shape(input_shape), "—", "—"])]
    table += [Row([r["label"], r["description"], _shape(r["shape"]), fmt(r["params"]) if r["params"] else "—",
                   r["rf"]]) for r in rows]
    total = count_parameters(model)
    if (listed := sum(r["params"] for r in rows)) != total:
        table.append(Row(["other", "parameters outside the layers above (or shared between them)", "",
                          f"{total - listed:+,}", ""]))
    table.append(Row(["total", "trainable parameters", "", fmt(total), ""]))
    return table


def network_table(model: nn.Module, input_shape, title: str) -> Table:
    """A built network layer by layer, run on one zero example of `input_shape` (without the batch
    dimension; a dict of shapes for several modalities), with a total equal to `count_parameters`."""
    return Table(NETWORK_COLUMNS, network_rows(model, input_shape), title)


def _trained(results: dict[str, VariantResult]) -> dict[str, VariantResult]:
    return {name: r for name, r in results.items()
            if r.variant.kind == "train" and "model" in r.variant.params}


def _architecture(r: VariantResult) -> str:
    p = r.variant.params
    return json.dumps([p["model"], p.get("model_options", {}), r.metrics.get("input_shape")], sort_keys=True)


def network_tables(results: dict[str, VariantResult]) -> list[Table]:
    """One network table per distinct (model, options, input shape) of the `train` variants that
    recorded their input shape."""
    groups: dict[str, list[VariantResult]] = {}
    for r in _trained(results).values():
        if "input_shape" in r.metrics:
            groups.setdefault(_architecture(r), []).append(r)
    tables = []
    for members in groups.values():
        p = members[0].variant.params
        model = build_model(p["model"], **p.get("model_options", {}))
        names = [r.name for r in members]
        which = ("every variant" if len(names) == len(results) > 1
                 else ("variant " if len(names) == 1 else "variants ") + ", ".join(names))
        title = f"{model_words(p['model'], p.get('model_options'))}: the network layer by layer ({which})"
        tables.append(network_table(model, members[0].metrics["input_shape"], title))
    return tables


# ------------------------------------------------------------------------------------------ paragraphs

def _validation_words(params: dict, n_train: int) -> str:
    """The held-out validation split in words (`train.load_data`: the last `validation_size` examples
    of the training split, at most a fifth of it); `n_train` is what is left to train on."""
    wanted = int(params["validation_size"])
    if n_train >= 4 * wanted:
        held = f"the last {wanted:,} examples of the training split are held out for validation"
    else:
        held = (f"the last fifth of the training split is held out for validation ({wanted:,} examples asked "
                "for, more than a fifth)")
    return held + ("; the epoch best on validation is the model tested" if params.get("keep_best") else "")


def _lower_first(text: str) -> str:
    """`text` to follow "The network is": "The", "A" lowered, names (CIFAR-10, LeNet) kept."""
    return text[0].lower() + text[1:] if text.split(" ", 1)[0] in ("The", "A", "An") else text


def _aspects(r: VariantResult) -> dict[str, str]:
    """What describes one variant, by aspect, in words ("" where there is nothing to say)."""
    p, m = r.variant.params, r.metrics
    n_train = m.get("n_train", 0)
    validation = _validation_words(p, n_train) if p.get("validation_size") else ""
    augment, crop = augment_words(p.get("augment")), (p.get("augment") or {}).get("crop")
    if augment:
        augment = "training batches are augmented on the device, one random draw per image: " + augment
        if crop and crop == (p.get("model_options") or {}).get("input_size"):
            augment += "; the network centre-crops the test images to the same size"
    task = p.get("task", "classification")
    return {
        "dataset": dataset_name(p["dataset"]),
        "sizes": f"{n_train:,} training and {m.get('n_test', 0):,} test examples",
        "shape": f"one example is {_shape(m['input_shape'])}" if "input_shape" in m else "",
        "swap": "the model trains on the test split and is tested on the training split"
                if p.get("swap_splits") else "",
        "validation": validation,
        "standardisation": "inputs are standardised per channel with the mean and standard deviation of the "
                           "training split" if p.get("standardize") else "inputs are not standardised",
        "augmentation": augment or "no augmentation",
        "network": _lower_first(model_title(p["model"])),
        "model": f"{_lower_first(model_words(p['model'], p.get('model_options')))} "
                 f"({fmt(m.get('params'))} trainable parameters)",
        "loss": "cross-entropy loss" if task == "classification"
                else f"the {task.replace('_', ' ')} task's loss",
        "optimiser": optimizer_words(p.get("optimizer", {}), p.get("scheduler")),
        "batch": f"mini-batches of {p['batch_size']}, reshuffled every epoch",
        "epochs": f"{p['epochs']} epoch{'s' if int(p['epochs']) != 1 else ''}",
        "seeds": seeds_words(r.variant.seeds),
    }


ASPECT_NAMES = {"dataset": "the dataset", "sizes": "the numbers of examples", "shape": "the input shape",
                "swap": "the splits", "validation": "the validation split",
                "standardisation": "the standardisation",
                "augmentation": "the augmentation", "network": "the network",
                "model": "the network's options", "loss": "the loss",
                "optimiser": "the optimiser and its schedule", "batch": "the batch size",
                "epochs": "the number of epochs", "seeds": "the seeds"}


def _sentence(parts: list[str], lead: str = "") -> str:
    """`parts` joined by semicolons after `lead` ("Data: "), as one sentence ("" when empty)."""
    text = "; ".join(p for p in parts if p)
    if not text:
        return ""
    return (lead or text[0].upper()) + (text if lead else text[1:]) + "."


def train_method(results: dict[str, VariantResult]) -> list[str]:
    """The method paragraphs of the `train` variants of an experiment: data, network, training.
    What every variant shares is said once; what varies is named, and given in the setup table."""
    trained = _trained(results)
    if not trained:
        return []
    described = [_aspects(r) for r in trained.values()]
    shared = {key: text for key, text in described[0].items() if all(d[key] == text for d in described)}
    varying = [ASPECT_NAMES[key] for key in described[0] if key not in shared and
               not (key == "model" and "network" not in shared)]

    def say(*keys: str) -> list[str]:
        return [shared[k] for k in keys if shared.get(k)]

    if "model" in shared:
        network = [shared["model"], "it is given layer by layer in the table below"]
    elif "network" in shared:
        network = [f"{shared['network']}, with the options of the setup table",
                   "each distinct network is given layer by layer below"]
    else:
        network = ["one per variant (setup table)", "each distinct network is given layer by layer below"]
    paragraphs = [
        _sentence([", ".join(say("dataset", "sizes")), *say("shape", "swap", "validation", "standardisation",
                                                              "augmentation")], "Data: "),
        _sentence(network, "Network: "),
        _sentence(say("loss", "optimiser", "batch", "epochs", "seeds"), "Training: ")]
    if varying:
        paragraphs.append(f"What varies between the variants (setup table): {'; '.join(varying)}.")
    if missing := [r.name for r in trained.values() if "input_shape" not in r.metrics]:
        paragraphs.append(f"The layer-by-layer table needs the input shape that training records, which the "
                          f"results of {', '.join(missing)} predate: re-run their training to get it.")
    return [p for p in paragraphs if p]


# ------------------------------------------------------------------------------------------ origins

ORIGINS_TITLE = ("Whose each setting is: the seed's (quoted) or ours (where the seed is silent), "
                 "as config.yaml marks it")


def origins_table(origins: dict[str, dict], experiment: str, datasets: list[str]) -> Table | None:
    """Which settings of an experiment are the seed's and which are ours, as config.yaml's comments
    mark them (`origins`: a chapter's slice, `origins.chapter_origins`), with those of its
    `datasets`' preparation. Comments that mark neither are left out."""
    rows = []
    for path, origin in origins.items():
        keys = path.split("/")
        if keys[:2] == ["experiments", experiment] and len(keys) > 3:
            if keys[2] == "defaults":
                setting = " ".join(keys[3:]).replace("_", " ")
            else:  # variants/<name>[/<key>...]
                setting = f"variant {keys[3]}" + (": " + " ".join(keys[4:]).replace("_", " ")
                                                  if keys[4:] else "")
        elif keys[:2] == ["data", "prepare"] and len(keys) > 3 and keys[2] in datasets:
            setting = f"{keys[2]} preparation: " + " ".join(keys[3:]).replace("_", " ")
        else:
            continue
        if (owner := whose(origin["comment"])) is not None:
            rows.append(Row([setting, origin["value"] or "—", owner, short(origin["comment"])]))
    return Table(ORIGIN_COLUMNS, rows, ORIGINS_TITLE) if rows else None


def origins_sentence(table: Table) -> str:
    """One sentence counting the table's settings by whose they are."""
    count = {owner: sum(row.cells[2] == owner for row in table.rows)
             for owner in ("seed", "ours", "seed and ours")}
    return (f"Of the {len(table.rows)} settings config.yaml marks for this experiment, "
            f"{count['seed']} are the seed's, {count['ours']} ours (the seed is silent) and "
            f"{count['seed and ours']} partly each; the settings appendix quotes them one by one.")
