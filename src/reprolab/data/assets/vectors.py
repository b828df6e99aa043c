"""Word vectors: GloVe 6B (Wikipedia 2014 + Gigaword 5, 400,000 lower-case words).

GloVe's text format is one word per line followed by its values, space separated;
`glove.6B.zip` holds the 50, 100, 200 and 300-d files. gensim-data's mirror of the 100-d
vectors is a gzipped word2vec text file: the same lines after a `<count> <dim>` header.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from reprolab.data.sources import Asset, RemoteFile
from reprolab.errors import DataError

if TYPE_CHECKING:
    import torch

GLOVE_DIMS = (50, 100, 200, 300)
ASSETS = (
    Asset("glove6b", "vectors",
          (RemoteFile("glove.6B.zip", ("https://nlp.stanford.edu/data/glove.6B.zip",
                                       "https://downloads.cs.stanford.edu/nlp/data/glove.6B.zip"),
                      md5="056ea991adb4740ac6bf1b6d9b50408b", size=862_182_613),),
          "GloVe 6B word vectors, 50/100/200/300-d (Pennington, Socher and Manning, 2014)"),
    Asset("glove6b_100", "vectors",
          (RemoteFile("glove-wiki-gigaword-100.gz",
                      ("https://github.com/RaRe-Technologies/gensim-data/releases/download/"
                       "glove-wiki-gigaword-100/glove-wiki-gigaword-100.gz",),
                      md5="40ec481866001177b8cd4cb0df92924f", size=134_300_434),),
          "GloVe 6B word vectors, 100-d only (gensim-data's word2vec-format mirror)"),
)

# Fixture vocabulary: frequent words first, as in GloVe, then families of related words
# whose vectors share a direction, so that nearest neighbours mean something in smoke runs.
FUNCTION_WORDS = (
    "the , . of to and in a \" 's for - that on is was said with he as it by at ( ) from his '' `` an "
    "be has are have but were not this who they had i which will their : or its one after new been "
    "also we would two more ' first about up when year there all -- out she other people n't her "
    "percent than over into last some government time $ you years if no world can three do ; "
    "president only state million could us most _ american against u.s. so them what him united "
    "during before may since many while where states because now city made like between did just "
    "national day country under such second then company group any through china four being down"
).split()
FAMILIES = {
    "numbers": "five six seven eight nine ten eleven twelve twenty hundred thousand",
    "days": "monday tuesday wednesday thursday friday saturday sunday week weekend",
    "months": "january february march april june july august september october november december",
    "colours": "red blue green yellow black white orange purple pink brown grey",
    "royalty": "king queen prince princess throne crown royal monarch kingdom emperor empress",
    "family": "man woman father mother son daughter brother sister uncle aunt husband wife",
    "countries": "france germany italy spain britain russia japan india canada brazil egypt",
    "capitals": "paris berlin rome madrid london moscow tokyo delhi ottawa brasilia cairo",
    "animals": "dog cat horse cow sheep pig bird fish lion tiger wolf bear mouse rabbit",
    "sea": "sea ocean ship sailor wave shore harbour albatross storm wind island boat",
    "poetry": "poem poet verse rhyme sonnet stanza ode lyric poetry muse baudelaire",
    "feelings": "love hate fear joy sorrow anger despair hope pride shame boredom",
    "body": "head hand eye heart arm leg foot mouth face hair skin blood",
    "weather": "rain snow sun cloud fog thunder summer winter autumn spring cold",
    "food": "bread wine cheese meat apple fruit milk sugar salt butter soup",
    "science": "physics chemistry biology mathematics energy atom molecule theory experiment",
    "computing": "computer software network internet data algorithm program code memory processor",
}


def fixture_vectors(dim: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """A few hundred words and GloVe-like vectors (values around ±0.5, a shared direction per family)."""
    words = list(FUNCTION_WORDS)
    rows = [rng.normal(0, 0.4, (len(words), dim))]
    for family in FAMILIES.values():
        members = family.split()
        centre = rng.normal(0, 0.5, dim)
        rows.append(centre + rng.normal(0, 0.2, (len(members), dim)))
        words += members
    return words, np.concatenate(rows).astype(np.float32)


def _glove_text(words: list[str], vectors: np.ndarray) -> str:
    rows = zip(words, vectors, strict=True)
    return "".join(f"{word} {' '.join(f'{v:.5f}' for v in row)}\n" for word, row in rows)


def write_fixture(asset: Asset, dest_dir: Path, rng: np.random.Generator) -> list[Path]:
    """The release file in its real format: GloVe's zip of text files, or gensim's word2vec .gz."""
    [remote] = asset.files
    path = Path(dest_dir) / remote.name
    if remote.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for dim in GLOVE_DIMS:
                zf.writestr(f"glove.6B.{dim}d.txt", _glove_text(*fixture_vectors(dim, rng)))
    else:
        words, vectors = fixture_vectors(100, rng)
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(f"{len(words)} 100\n" + _glove_text(words, vectors))
    return [path]


@contextlib.contextmanager
def _text(path: Path, dim: int) -> Iterator[TextIO]:
    """The lines of the `dim`-d vectors in a GloVe zip, a gensim .gz or a plain text file."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.endswith(f".{dim}d.txt")]
            if not members:
                raise DataError(f"{path} holds no {dim}-d vectors (*.{dim}d.txt), only: "
                                f"{', '.join(zf.namelist())}")
            with io.TextIOWrapper(zf.open(members[0]), encoding="utf-8") as f:
                yield f
    elif path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            header = f.readline().split()
            if len(header) != 2 or int(header[1]) != dim:
                raise DataError(f"{path}: word2vec header {' '.join(header)!r}, `<count> {dim}` expected")
            yield f
    else:
        with open(path, encoding="utf-8") as f:
            yield f


def read_glove(path: Path, dim: int, vocabulary: Iterable[str] | None = None
               ) -> tuple[list[str], torch.Tensor]:
    """Words (in file order) and their vectors, float32 [V, dim]; only `vocabulary`'s words if given.

    Reads `glove.6B.zip` (its `*.<dim>d.txt` member), a GloVe text file, or gensim's `.gz` mirror.
    """
    import torch  # here, not with the module: the jobs writing fixtures run no torch

    path = Path(path)
    keep = set(vocabulary) if vocabulary is not None else None
    words, rows = [], []
    with _text(path, dim) as lines:
        for number, line in enumerate(lines, 1):
            word, *values = line.rstrip().rsplit(" ", dim)
            if keep is not None and word not in keep:
                continue
            if len(values) != dim:
                raise DataError(f"{path} line {number}: {len(values)} values, {dim} expected")
            words.append(word)
            rows.append(np.array(values, dtype=np.float32))
    vectors = np.stack(rows) if rows else np.empty((0, dim), np.float32)
    return words, torch.from_numpy(vectors)
