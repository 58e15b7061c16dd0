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

The heights are estimated from the deck's own style sheet (written from the same
:class:`Style`), never measured here: ``tests/test_site_browser.py`` measures every
slide of every deck in Chromium.

>>> import nbformat
>>> cell = nbformat.v4.new_markdown_cell("## A\\n\\nOne.\\n\\n" + "Two words. " * 300)
>>> cell.metadata["slideshow"] = {"slide_type": "slide"}
>>> nb = nbformat.v4.new_notebook(cells=[cell])
>>> [s.kind for s in layout(nb)]
['slide', 'subslide', 'subslide']
"""

from __future__ import annotations

import base64
import copy
import html
import io
import math
import re
from dataclasses import dataclass, field

import nbformat
from markdown_it import MarkdownIt

from cam_edu.teaching.notebooks import (
    COLLAPSE_TAG,
    PICTURE_MIMES,
    TIME_LINE,
    section_of,
    skip_reason,
    slides_of,
)

# A picture is enlarged to fill its slide, at most by this factor (figures are 100 dpi).
MAX_ZOOM = 1.3
CONTINUED_CLASS = "cam-continued"


@dataclass(frozen=True)
class Style:
    """The deck's sizes in CSS pixels: its style sheet is written with them
    (:meth:`css_values`), and :func:`layout` counts on them.

    ``em_per_char`` is the mean width of a character of prose in the text font (Source Sans
    Pro, shipped with reveal.js) in em, rounded up so that word wrapping is covered;
    ``spare`` is left free at the bottom of every slide, for a monospace font or a formula
    that sets a little taller elsewhere than here.
    """

    width: int = 1280
    height: int = 720
    pad_x: int = 48
    pad_y: int = 16
    text_px: int = 24
    leading: float = 1.4
    code_px: int = 18
    code_leading: float = 1.35
    heading_px: tuple[int, int, int] = (40, 32, 28)
    heading_leading: float = 1.2
    list_indent: float = 1.4  # em
    gap: int = 12  # below a paragraph, list, heading, code block or output
    em_per_char: float = 0.46
    mono_em_per_char: float = 0.61
    scrollbar: int = 14
    code_pad: int = 6  # above and below the code in its box (with a 1 px border)
    cell_pad: int = 4  # above and below the text in a table's cell
    continued_px: int = 18
    continued_leading: float = 1.3
    spare: int = 10

    @property
    def inner_width(self) -> int:
        return self.width - 2 * self.pad_x

    @property
    def inner_height(self) -> int:
        """The height the slide's content may fill."""
        return self.height - 2 * self.pad_y - self.spare

    @property
    def continued_height(self) -> float:
        """The "… (continued)" line at the top of a slide that continues a topic."""
        return self.continued_px * self.continued_leading + self.gap

    @property
    def budget(self) -> float:
        """The height any one piece may take: what a continued slide has room for."""
        return self.inner_height - self.continued_height

    @property
    def picture_max(self) -> int:
        """The tallest a picture is shown."""
        return int(self.budget - self.gap)

    @property
    def line(self) -> float:
        return self.text_px * self.leading

    @property
    def code_line(self) -> float:
        return self.code_px * self.code_leading

    def chars(self, font_px: float, width: float | None = None) -> int:
        """Characters of prose on one line ``width`` wide (default: the text column)."""
        return max(20, int((width or self.inner_width) / (font_px * self.em_per_char)))

    @property
    def code_chars(self) -> int:
        return int((self.inner_width - 24) / (self.code_px * self.mono_em_per_char))

    def css_values(self) -> dict:
        """The sizes the style sheet (``templates/cam_reveal/deck.css.j2``) is written with.

        >>> STYLE.css_values()["picture_max"]
        630
        """
        h1, h2, h3 = self.heading_px
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        extra = {"h1": h1, "h2": h2, "h3": h3, "picture_max": self.picture_max}
        return values | extra | {"continued_class": CONTINUED_CLASS}


STYLE = Style()


# ----------------------------------------------------------------------------- estimates

_MD = MarkdownIt("commonmark").enable("table")
_INLINE_MATH = re.compile(r"\$([^$]+)\$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")
IMAGE_ONLY = re.compile(r"^\s*!\[([^\]]*)\]\(([^)\s]+)[^)]*\)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”')\]]*\s+(?=[A-Z0-9$*_`(\[\"“])")


def visible_chars(markdown: str) -> float:
    """About how many characters ``markdown`` shows (links by their text, TeX compact).

    >>> visible_chars("See [the paper](https://example.org/a/long/path) for $\\\\alpha_k$.")
    22.0
    """
    text = _LINK.sub(r"\1", markdown)
    text = _INLINE_MATH.sub(lambda m: "x" * len(re.sub(r"\\[A-Za-z]+|[{}^_\\]", "x", m[1])), text)
    text = _CODE_SPAN.sub(lambda m: m[1] + "x" * (len(m[1]) // 6 + 1), text)  # wider font
    text = _TAG.sub("", text).replace("**", "")
    return float(len(" ".join(text.split())))


def text_lines(markdown: str, chars_per_line: int) -> int:
    """Lines a paragraph of ``markdown`` wraps to."""
    return max(1, math.ceil(visible_chars(markdown) / chars_per_line))


def picture_size(data: str | bytes) -> tuple[int, int]:
    """Width and height in pixels of a base64 PNG or JPEG (or its bytes)."""
    import PIL.Image

    raw = base64.b64decode(data) if isinstance(data, str) else data
    with PIL.Image.open(io.BytesIO(raw)) as image:
        return image.size


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


def markdown_blocks(source: str) -> list[tuple[str, str]]:
    """The top-level blocks of ``source``: (kind, text), ``<details>…</details>`` as one."""
    lines = source.splitlines()
    blocks: list[tuple[str, str]] = []
    depth = 0
    for token in _MD.parse(source):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        text = "\n".join(lines[token.map[0] : token.map[1]]).strip("\n")
        kind = token.type.removesuffix("_open")
        opened = text.count("<details") - text.count("</details")
        if depth > 0:
            blocks[-1] = ("details", blocks[-1][1] + "\n\n" + text)
        else:
            blocks.append(("details" if opened > 0 else kind, text))
        depth = max(0, depth + opened)
    return blocks


def list_items(text: str) -> list[str]:
    """The items of a markdown list, each with its own lines (numbers kept)."""
    lines = text.splitlines()
    starts = [t.map[0] for t in _MD.parse(text) if t.type == "list_item_open" and t.level == 1]
    bounds = [*starts, len(lines)]
    return ["\n".join(lines[a:b]).strip("\n") for a, b in zip(bounds, bounds[1:], strict=False)]


class Estimator:
    """Estimated heights (CSS px) of markdown blocks, code and outputs in the deck."""

    def __init__(self, style: Style = STYLE, attachments: dict | None = None):
        self.s = style
        self.attachments = attachments or {}

    def paragraph(self, text: str, indent: float = 0.0) -> float:
        s = self.s
        if text.lstrip().startswith("$$"):  # a formula: rows of 1.2 lines, 2 if built up
            rows = text.count("\\\\") + 1
            tall = 0.8 if re.search(r"\\(frac|sum|prod|int|max|min)", text) else 0.0
            return rows * s.line * (1.2 + tall) + s.gap
        width = s.inner_width - indent
        return text_lines(text, s.chars(s.text_px, width)) * s.line + s.gap

    def heading(self, text: str, level: int) -> float:
        s = self.s
        px = s.heading_px[min(level, 3) - 1]
        title = text.lstrip("#").strip()
        return text_lines(title, s.chars(px)) * px * s.heading_leading + s.gap

    def list_block(self, text: str) -> float:
        indent = self.s.list_indent * self.s.text_px
        items = list_items(text)
        body = sum(self.paragraph(LIST_MARKER.sub("", item), indent) for item in items)
        return body - len(items) * self.s.gap + self.s.gap

    def table(self, text: str) -> float:
        s = self.s
        rows = [r for r in text.splitlines() if r.strip() and not re.match(r"^\s*\|?[\s:|-]+$", r)]
        wraps = [text_lines(r.replace("|", " "), s.chars(s.text_px) * 2) for r in rows]
        return sum(w * s.line + 2 * s.cell_pad for w in wraps) + s.gap + s.scrollbar

    def picture_height(self, width: int, height: int) -> float:
        scale = min(1.0, self.s.inner_width / width)
        return min(height * scale, self.s.picture_max)

    def attachment(self, target: str) -> tuple[str, str] | None:
        """The MIME type and base64 data of the cell's attachment ``attachment:NAME``."""
        bundle = self.attachments.get(target.removeprefix("attachment:"), {})
        return next(((m, bundle[m]) for m in PICTURE_MIMES[:2] if m in bundle), None)

    def markdown_picture(self, target: str) -> float:
        found = self.attachment(target)
        width, height = picture_size(found[1]) if found else (self.s.inner_width, 400)
        return self.picture_height(width, height) + self.s.gap

    def block(self, kind: str, text: str) -> float:
        if kind == "heading":
            return self.heading(text, len(text) - len(text.lstrip("#")))
        if kind in ("bullet_list", "ordered_list"):
            return self.list_block(text)
        if kind == "table":
            return self.table(text)
        if kind == "fence" or kind == "code_block":
            return self.code(text.splitlines()[1:-1] if kind == "fence" else text.splitlines())
        if kind == "details":  # estimated open: the answer must fit when it is shown
            inner = _TAG.sub("", text)  # the summary's text becomes the first paragraph
            return sum(self.block(k, t) for k, t in markdown_blocks(inner))
        if kind == "hr":
            return 2 * self.s.gap
        picture = IMAGE_ONLY.match(text)
        if picture:
            return self.markdown_picture(picture[2])
        return self.paragraph(_TAG.sub("", text) if kind == "html_block" else text)

    def code(self, lines: list[str]) -> float:
        s = self.s
        wide = any(len(line) > s.code_chars for line in lines)
        box = 2 * s.code_pad + 2  # padding and border
        return max(1, len(lines)) * s.code_line + box + s.gap + (s.scrollbar if wide else 0)

    def printout(self, lines: list[str]) -> float:
        s = self.s
        wide = any(len(line) > s.code_chars - 2 for line in lines)
        return max(1, len(lines)) * s.code_line + s.gap + (s.scrollbar if wide else 0)

    def output(self, output) -> tuple[float, tuple[int, int] | None]:
        """The output's height, and its picture's size if it is a picture."""
        data = output.get("data", {})
        for mime in PICTURE_MIMES[:2]:
            if mime in data:
                size = picture_size(data[mime])
                return self.picture_height(*size) + self.s.gap, size
        if output.output_type == "stream":
            return self.printout(output.text.splitlines()), None
        if output.output_type == "error":
            return self.printout(_TAG.sub("", "\n".join(output.traceback)).splitlines()), None
        if "text/markdown" in data:
            return sum(self.block(k, t) for k, t in markdown_blocks(data["text/markdown"])), None
        if "text/html" in data:
            rows = data["text/html"].count("<tr")
            if rows:
                row = self.s.line + 2 * self.s.cell_pad
                return rows * row + self.s.gap + self.s.scrollbar, None
            return self.paragraph(_TAG.sub("", data["text/html"])), None
        return self.printout(str(data.get("text/plain", "")).splitlines()), None


# ----------------------------------------------------------------------------- cutting


def sentences(text: str) -> list[str]:
    """A paragraph's sentences (its line breaks kept inside them)."""
    return [part for part in _SENTENCE_END.split(text) if part.strip()]


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


# ----------------------------------------------------------------------------- the deck


def _cells_of(nb, slide: DeckSlide) -> list:
    """The notebook cells that show ``slide``'s pieces (consecutive parts of a cell merged)."""
    cells = []
    if slide.continued and slide.section:
        note = f'<p class="{CONTINUED_CLASS}">{slide.section} (continued)</p>'
        cells.append(nbformat.v4.new_markdown_cell(note))
    groups: list[list[Piece]] = []
    for piece in slide.pieces:
        if groups and groups[-1][0].origin == piece.origin:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    for group in groups:
        cell = copy.deepcopy(nb.cells[group[0].origin])
        if cell.cell_type == "markdown":
            cell.source = "\n\n".join(_markdown_shown(cell, p) for p in group)
        else:
            code = [p.source for p in group if p.output is None and p.source is not None]
            cell.source = "\n".join(code)
            tags = [t for t in cell.metadata.get("tags", []) if t != COLLAPSE_TAG]
            cell.metadata["tags"] = tags if code else [*tags, COLLAPSE_TAG]
            cell.outputs = [_shown_output(cell, p) for p in group if p.output is not None]
        cell.metadata["slideshow"] = {"slide_type": "-"}
        cells.append(cell)
    cells[0].metadata["slideshow"] = {"slide_type": slide.kind}
    return cells


def _markdown_shown(cell, piece: Piece) -> str:
    """The piece's markdown; a picture at the size :func:`_zoom` chose, as an ``<img>``."""
    picture = IMAGE_ONLY.match(piece.source)
    found = picture and Estimator(attachments=cell.get("attachments")).attachment(picture[2])
    if not found or not piece.picture:
        return piece.source
    mime, data = found
    alt = html.escape(picture[1], quote=True)
    return f'<img src="data:{mime};base64,{data}" alt="{alt}" width="{piece.picture[0]}">'


def _shown_output(cell, piece: Piece):
    output = copy.deepcopy(cell.outputs[piece.output])
    if piece.text is not None:
        output.text = piece.text
    if piece.picture:
        mime = next(m for m in PICTURE_MIMES[:2] if m in output.data)
        output.setdefault("metadata", {}).setdefault(mime, {})["width"] = piece.picture[0]
    return output


def deck_notebook(nb, notes=None, style: Style = STYLE):
    """A copy of ``nb`` whose cells are the deck's slides, each ending in its notes.

    ``notes(nb, slide)`` writes a slide's speaker notes (markdown); without it, none.
    Returns the new notebook and its :class:`DeckSlide` list.
    """
    slides = layout(nb, style)
    deck = copy.deepcopy(nb)
    deck.cells = []
    for slide in slides:
        cells = _cells_of(nb, slide)
        if notes is not None:
            cell = nbformat.v4.new_markdown_cell(notes(nb, slide))
            cell.metadata["slideshow"] = {"slide_type": "notes"}
            cells.append(cell)
        deck.cells += cells
    for number, cell in enumerate(deck.cells):  # copies of a cell need ids of their own
        cell["id"] = f"deck-{number}"
    return deck, slides
