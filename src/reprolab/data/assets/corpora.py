"""Text corpora: Project Gutenberg ebooks, read between their START and END markers.

Gutenberg publishes no checksum and regenerates its headers: the file is verified by trust
on first use, and the book's text is what lies between `*** START OF ... ***` and
`*** END OF ... ***`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reprolab.data.sources import Asset, RemoteFile
from reprolab.errors import DataError

ASSETS = (
    Asset("fleurs_du_mal", "corpus",
          (RemoteFile("pg6099.txt", ("https://www.gutenberg.org/cache/epub/6099/pg6099.txt",
                                     "https://www.gutenberg.org/ebooks/6099.txt.utf-8")),),
          "Charles Baudelaire, Les Fleurs du mal (Project Gutenberg ebook 6099, French, UTF-8)"),
)
START = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE)
# Older ebooks repeat "End of the Project Gutenberg EBook of ..." just before the END marker.
END = re.compile(r"^(End of (the )?Project Gutenberg.*\n\s*)?"
                 r"\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.MULTILINE)

FIXTURE_HEADER = """\
The Project Gutenberg eBook of Les Fleurs du Mal, by Charles Baudelaire

This eBook is for the use of anyone anywhere in the United States and
most other parts of the world at no cost and with almost no restrictions
whatsoever.

Title: Les Fleurs du Mal

Author: Charles Baudelaire

Release date: July 1, 2004 [eBook #6099]

Language: French

Credits: a reprolab fixture (a few poems, not the whole book)


*** START OF THE PROJECT GUTENBERG EBOOK LES FLEURS DU MAL ***
"""
FIXTURE_POEMS = """\



Produced by Tonya Allen, Julie Barkley, Juliet Sutherland,
Charles Franks and the Online Distributed Proofreading Team.



[Illustration]



LES FLEURS DU MAL

par

CHARLES BAUDELAIRE

_Préface par Henry FRICHET_



[Illustration]

PRÉFACE


Charles Baudelaire avait un ami, Auguste Poulet-Malassis, ancien élève
de l'école des Chartes, qui s'était fait éditeur par goût pour les
raffinements typographiques et pour la littérature qu'il jugeait en
érudit et en artiste beaucoup plus qu'en commerçant.


  AU LECTEUR


  La sottise, l'erreur, le péché, la lésine,
  Occupent nos esprits et travaillent nos corps,
  Et nous alimentons nos aimables remords,
  Comme les mendiants nourrissent leur vermine.

  Nos péchés sont têtus, nos repentirs sont lâches,
  Nous nous faisons payer grassement nos aveux,
  Et nous rentrons gaîment dans le chemin bourbeux,
  Croyant par de vils pleurs laver toutes nos taches.


  L'ALBATROS


  Souvent, pour s'amuser, les hommes d'équipage
  Prennent des albatros, vastes oiseaux des mers,
  Qui suivent, indolents compagnons de voyage,
  Le navire glissant sur les gouffres amers.

  A peine les ont-ils déposés sur les planches,
  Que ces rois de l'azur, maladroits et honteux,
  Laissent piteusement leurs grandes ailes blanches
  Comme des avirons traîner à côté d'eux.

  Ce voyageur ailé, comme il est gauche et veule!
  Lui, naguère si beau, qu'il est comique et laid!
  L'un agace son bec avec un brûle-gueule,
  L'autre mime, en boitant, l'infirme qui volait!

  Le Poète est semblable au prince des nuées
  Qui hante la tempête et se rit de l'archer;
  Exilé sur le sol au milieu des huées,
  Ses ailes de géant l'empêchent de marcher.



"""
FIXTURE_FOOTER = """\
End of the Project Gutenberg EBook of Les Fleurs du Mal, by Charles Baudelaire

*** END OF THE PROJECT GUTENBERG EBOOK LES FLEURS DU MAL ***

Updated editions will replace the previous one--the old editions will
be renamed.
"""


def write_fixture(asset: Asset, dest_dir: Path, rng: np.random.Generator) -> list[Path]:
    """A short ebook in Gutenberg's format: UTF-8 with a byte-order mark, CRLF line ends, markers."""
    [remote] = asset.files
    path = Path(dest_dir) / remote.name
    text = FIXTURE_HEADER + FIXTURE_POEMS + FIXTURE_FOOTER
    path.write_bytes(("\ufeff" + text).replace("\n", "\r\n").encode("utf-8"))
    return [path]


def read_gutenberg(path: Path) -> str:
    """The book's text between the START and END markers (line ends normalised, blank edges stripped)."""
    text = Path(path).read_text(encoding="utf-8-sig")
    start, end = START.search(text), END.search(text)
    if start is None or end is None or end.start() < start.end():
        raise DataError(f"{path}: no `*** START OF THE PROJECT GUTENBERG EBOOK` ... `*** END OF` markers; "
                        f"is it a Project Gutenberg plain-text ebook?")
    return text[start.end():end.start()].strip("\n")
