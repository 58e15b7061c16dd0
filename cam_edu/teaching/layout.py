"""How a lesson is cut into slides that fit a 1280 × 720 screen (the static decks).

The lesson's slide metadata (:mod:`cam_edu.teaching.notebooks`) says where a topic starts.
Here every such slide is cut, by rule, into sub-slides whose estimated height fits the
screen, so that no slide needs scrolling:

- the opening cell becomes the title slide (the title, the **Time:** line and "You will
  learn" with its list); the rest of the cell follows, a picture (a diagram) on a new slide;
- markdown is cut between its blocks (paragraphs, lists, formulas, tables, pictures); a
  list between its items and a paragraph between its sentences when one alone is too tall.
  A heading and a line ending in ":" stay with what follows, an answer (``<details>``) with
  its question;
- a code cell keeps its code and outputs together when they fit; otherwise its code goes on
  one slide and its outputs on the next; a long code or printout is cut between lines;
- a slide that continues a topic starts with a small "… (continued)" line;
- a picture output is shown as large as the slide allows, up to :data:`MAX_ZOOM` times its
  own size.

The heights are estimated (:mod:`cam_edu.teaching.sizes`) from the deck's own style sheet;
the deck's notebook is written from the slides by :mod:`cam_edu.teaching.deck`.

>>> import nbformat
>>> cell = nbformat.v4.new_markdown_cell("## A\\n\\nOne.\\n\\n" + "Two words. " * 300)
>>> cell.metadata["slideshow"] = {"slide_type": "slide"}
>>> nb = nbformat.v4.new_notebook(cells=[cell])
>>> [s.kind for s in layout(nb)]
['slide', 'subslide', 'subslide']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cam_edu.teaching.markdown import IMAGE_ONLY, list_items, markdown_blocks, sentences
from cam_edu.teaching.notebooks import (
    COLLAPSE_TAG,
    TIME_LINE,
    section_of,
    skip_reason,
    slides_of,
)
from cam_edu.teaching.sizes import STYLE, Estimator, Style, picture_size

# A picture is enlarged to fill its slide, at most by this factor (figures are 100 dpi).
MAX_ZOOM = 1.3


# ----------------------------------------------------------------------------- pieces


@dataclass
class Piece:
    """A part of one lesson cell that stays whole on a slide.

    ``origin`` is the cell's index; ``source`` the markdown text (markdown pieces) or the
    code lines shown (code pieces, ``output`` None); ``output`` the output's index and
    ``text`` the part of a printout shown (code outputs).
    """

    origin: int
    height: float
    source: str | None = None
    output: int | None = None
    text: str | None = None
    picture: tuple[int, int] | None = None
    keep_with_next: bool = False
    new_slide: bool = False  # starts a slide (a diagram)
    ends_slide: bool = False  # ends a slide (the title slide)


# ----------------------------------------------------------------------------- cutting


def _cut_lines(lines: list[str], height_of, budget: float) -> list[list[str]]:
    """Consecutive runs of ``lines`` whose ``height_of`` fits ``budget`` (at least one line)."""
    runs: list[list[str]] = [[]]
    for line in lines:
        if runs[-1] and height_of([*runs[-1], line]) > budget:
            runs.append([])
        runs[-1].append(line)
    return runs


def _title_first(pieces: list[Piece]) -> list[Piece]:
    """The opening cell's pieces, the title slide's first: title, time, "You will learn"."""
    heading = [p for p in pieces[:1] if p.source.startswith("#")]
    time = [p for p in pieces if TIME_LINE.search(p.source)]
    learn = next((k for k, p in enumerate(pieces) if p.source.startswith("You will learn")), None)
    objectives = [] if learn is None else pieces[learn : learn + 2]
    title = heading + time + objectives
    if not (time or objectives):
        return pieces
    for piece in title:
        piece.keep_with_next, piece.new_slide = True, False
    title[-1].keep_with_next, title[-1].ends_slide = False, True
    return title + [p for p in pieces if p not in title]


class Cutter:
    """Cuts the cells of a lesson into :class:`Piece` objects that each fit a slide."""

    def __init__(self, nb, style: Style = STYLE):
        self.nb, self.s = nb, style

    def markdown(self, index: int, opening: bool = False) -> list[Piece]:
        cell = self.nb.cells[index]
        est = Estimator(self.s, cell.get("attachments"))
        pieces: list[Piece] = []
        for kind, text in markdown_blocks(cell.source):
            if kind == "details" and pieces:  # an answer stays with its question
                pieces[-1].keep_with_next = True
            for part in self._split_block(est, kind, text):
                piece = Piece(index, est.block(kind, part), source=part)
                piece.keep_with_next = kind == "heading" or part.rstrip().endswith(":")
                picture = IMAGE_ONLY.match(part)
                if picture:  # a diagram starts a slide, and may be enlarged
                    piece.new_slide = True
                    found = est.attachment(picture[2])
                    piece.picture = picture_size(found[1]) if found else None
                pieces.append(piece)
        return _title_first(pieces) if opening else pieces

    def _split_block(self, est: Estimator, kind: str, text: str) -> list[str]:
        if est.block(kind, text) <= self.s.budget:
            return [text]
        if kind in ("bullet_list", "ordered_list"):
            return list_items(text)
        if kind == "paragraph":
            runs = _cut_lines(sentences(text), lambda r: est.paragraph(" ".join(r)), self.s.budget)
            return [" ".join(run) for run in runs]
        return [text]

    def code(self, index: int) -> list[Piece]:
        cell = self.nb.cells[index]
        est = Estimator(self.s)
        pieces: list[Piece] = []
        if COLLAPSE_TAG not in cell.metadata.get("tags", []):
            for run in _cut_lines(cell.source.splitlines(), est.code, self.s.budget):
                pieces.append(Piece(index, est.code(run), source="\n".join(run)))
        shown_code = len(pieces)
        for k, output in enumerate(cell.get("outputs", [])):
            height, picture = est.output(output)
            if output.output_type == "stream" and height > self.s.budget:
                for run in _cut_lines(output.text.splitlines(), est.printout, self.s.budget):
                    text = "\n".join(run) + "\n"
                    pieces.append(Piece(index, est.printout(run), output=k, text=text))
                continue
            pieces.append(Piece(index, height, output=k, picture=picture))
        if not pieces:  # long code, no output: nothing to show, but it runs here
            pieces.append(Piece(index, 0.0))
        if 0 < shown_code < len(pieces):  # the code goes with its first output if both fit
            code, first = pieces[shown_code - 1], pieces[shown_code]
            code.keep_with_next = code.height + first.height <= self.s.budget
        return pieces


# ----------------------------------------------------------------------------- packing


@dataclass
class DeckSlide:
    """One slide of the deck: the pieces on it, and what the speaker notes need."""

    kind: str  # "slide" or "subslide"
    section: str  # the topic's heading
    pieces: list[Piece] = field(default_factory=list)
    continued: bool = False
    skipped: list[int] = field(default_factory=list)  # lesson cells left out of the deck

    def height(self, style: Style = STYLE) -> float:
        """The estimated height of the slide's content (without its padding)."""
        top = style.continued_height if self.continued else 0.0
        return top + sum(p.height for p in self.pieces)


def _pack(pieces: list[Piece], first: DeckSlide, cutter: Cutter) -> list[DeckSlide]:
    """Fill ``first`` with ``pieces``, then as many continuation slides as they need."""
    slides = [first]
    k = 0
    while k < len(pieces):
        group = [pieces[k]]  # pieces that stay together, unless together they are too tall
        while group[-1].keep_with_next and k + len(group) < len(pieces):
            group.append(pieces[k + len(group)])
        if len(group) > 1 and sum(p.height for p in group) > cutter.s.budget:
            group = group[:1]
        current = slides[-1]
        full = current.height(cutter.s) + sum(p.height for p in group) > cutter.s.inner_height
        if current.pieces and (full or group[0].new_slide or current.pieces[-1].ends_slide):
            current = DeckSlide("subslide", current.section, continued=True)
            slides.append(current)
        current.pieces.extend(group)
        k += len(group)
    return slides


def _size_pictures(slide: DeckSlide, style: Style) -> None:
    """Give every picture of the slide its shown size; a slide's only picture fills the room
    left, up to :data:`MAX_ZOOM` times its own size."""
    pictures = [p for p in slide.pieces if p.picture]
    for piece in pictures:
        width, height = piece.picture
        shown = piece.height - style.gap
        room = style.inner_height - slide.height(style) if len(pictures) == 1 else 0.0
        zoom = min(MAX_ZOOM, style.inner_width / width, (shown + room) / height)
        piece.picture = (math.floor(zoom * width), math.floor(zoom * height))
        piece.height = piece.picture[1] + style.gap


def layout(nb, style: Style = STYLE) -> list[DeckSlide]:
    """The deck's slides for ``nb`` (a lesson with slide metadata, widgets frozen)."""
    cutter = Cutter(nb, style)
    deck: list[DeckSlide] = []
    opening = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    for number, slide in enumerate(slides_of(nb)):
        kind = "slide" if number == 0 else None
        first = DeckSlide(kind or _kind(nb, slide.cells[0]), section_of(nb, slide.cells[0]))
        pieces: list[Piece] = []
        for i in slide.cells:
            cell = nb.cells[i]
            if cell.metadata.get("slideshow", {}).get("slide_type") == "skip" or skip_reason(cell):
                first.skipped.append(i)
            elif cell.cell_type == "markdown":
                pieces += cutter.markdown(i, opening=i == opening)
            elif cell.cell_type == "code":
                pieces += cutter.code(i)
        packed = _pack(pieces, first, cutter)
        for deck_slide in packed:
            _size_pictures(deck_slide, style)
        deck += packed
    return deck


def _kind(nb, index: int) -> str:
    kind = nb.cells[index].metadata.get("slideshow", {}).get("slide_type", "-")
    return "slide" if kind == "slide" else "subslide"
