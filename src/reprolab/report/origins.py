"""Whose each setting is, the seed's or ours, as config.yaml's comments say.

config.yaml marks its settings with comments: `# seed: «quote»` (the seed report's choice) or
`# seed silent: ...` (ours, where the seed says nothing). This module reads those comments back,
keyed by the setting's path in the YAML tree, so the report can mark each setting. Light on
purpose (PyYAML and `re`, no torch): the Snakefile calls it when it plans the DAG and hands each
chapter summary its slice through `params:`, so that editing a comment re-runs that summary.

A setting's comment is the comment on its line (continued on the next lines when they are
comment lines aligned with it) and the comment lines just above it (no blank line between).
PyYAML's node marks give each key's line; keys in a flow mapping share their line's comment,
which is recorded once, for the first key on the line (e.g. a variant `cnn: {model: keras_cnn}`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

SEED = re.compile(r"\bseed(?: \d{3}(?: [\w.\-]+)*?)?:|^the seed's\b")  # seed:, seed 002:, seed 004 1.3.5:
OURS = re.compile(r"\bseed silent\b|\bsilent\b|\bours\b|\bour (?:choice|fixed)\b")
SHORT = 150  # characters of a comment the report prints


@dataclass(frozen=True)
class Origin:
    """A commented setting: its value as written and the comment beside or above it."""

    path: str  # keys joined by "/", e.g. "chapters/mnist/experiments/keras_style/defaults/epochs"
    value: str  # as written when it fits one line (a scalar, `{name: sgd, lr: 0.1}`); "" for a block
    comment: str

    @property
    def whose(self) -> str | None:
        """"seed", "ours", "seed and ours", or None where the comment says neither."""
        return whose(self.comment)


def whose(comment: str) -> str | None:
    """Whose a setting is, from its comment: the seed's (`seed: ...`), ours (`seed silent: ...`,
    "our choice"), both (`seed: lr 0.1; seed silent: plain SGD`), or None."""
    seed = bool(SEED.search(OURS.sub("", comment.replace("seed silent", ""))))
    ours = bool(OURS.search(comment))
    return {(True, True): "seed and ours", (True, False): "seed", (False, True): "ours"}.get((seed, ours))


def short(comment: str, limit: int = SHORT) -> str:
    """A comment cut at a word before `limit` characters, with an ellipsis."""
    if len(comment) <= limit:
        return comment
    return comment[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _comment_after(line: str, start: int) -> tuple[str, int] | None:
    """The comment of `line` after column `start` (YAML: `#` after a blank), and its column."""
    match = re.search(r"(?:^|\s)#", line[start:])
    if match is None:
        return None
    column = start + match.end() - 1
    return line[column + 1:].strip(), column


def _key_lines(node: yaml.Node, path: tuple[str, ...], found: dict[int, tuple]) -> None:
    """Every mapping key under `node`: its line -> (path, value node), first key of a line only."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            found.setdefault(key.start_mark.line, (here, key, value))
            _key_lines(value, here, found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _key_lines(item, (*path, str(i)), found)


def setting_origins(text: str) -> dict[str, Origin]:
    """The commented settings of a YAML document (config.yaml's text), by path."""
    lines = text.splitlines()
    keys: dict[int, tuple] = {}
    _key_lines(yaml.compose(text), (), keys)
    origins, continued = {}, set()
    for number, (path, key, value) in keys.items():
        one_line = value.start_mark.line == number and value.end_mark.line == number
        parts = []
        above = number - 1  # comment lines just above the key, not continuing the previous key's
        while above >= 0 and lines[above].lstrip().startswith("#") and above not in continued:
            above -= 1
        parts += [lines[i].strip().lstrip("#").strip() for i in range(above + 1, number)]
        if inline := _comment_after(lines[number], (value if one_line else key).end_mark.column):
            parts.append(inline[0])
            below = number + 1  # continued on the next comment lines aligned with it
            while below < len(lines) and lines[below].strip().startswith("#") \
                    and lines[below].index("#") == inline[1]:
                parts.append(lines[below].strip().lstrip("#").strip())
                continued.add(below)
                below += 1
        if parts:
            path_text = "/".join(path)
            origins[path_text] = Origin(path_text, text_of(text, value) if one_line else "", " ".join(parts))
    return origins


def text_of(text: str, node: yaml.Node) -> str:
    """A node as written in the document (one line)."""
    return text[node.start_mark.index:node.end_mark.index].strip()


def chapter_origins(origins: dict[str, Origin], chapter: str) -> dict[str, dict]:
    """What one chapter summary needs (plain data, for Snakemake's `params:`): the origins of the
    chapter's settings, by path below `chapters/<chapter>/`, and those of the datasets' preparation
    (`data/prepare/...`), by their full path."""
    prefix = f"chapters/{chapter}/"
    return {o.path.removeprefix(prefix): {"value": o.value, "comment": o.comment}
            for o in origins.values() if o.path.startswith((prefix, "data/prepare/"))}
