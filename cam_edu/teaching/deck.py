"""The deck's notebook: the lesson's cells regrouped as the slides of
:func:`cam_edu.teaching.layout.layout`, each slide followed by its speaker notes.

A piece of a cell becomes a copy of that cell with only that piece (consecutive pieces of
one cell share a copy); a slide that continues a topic opens with a small
"… (continued)" line; a picture gets the width the layout chose for it.

>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A\\n\\nOne.")])
>>> [c.metadata["slideshow"]["slide_type"] for c in deck_notebook(nb)[0].cells]
['slide']
"""

from __future__ import annotations

import copy
import html

import nbformat

from cam_edu.teaching.layout import DeckSlide, Piece, layout
from cam_edu.teaching.markdown import IMAGE_ONLY
from cam_edu.teaching.notebooks import COLLAPSE_TAG, PICTURE_MIMES
from cam_edu.teaching.sizes import CONTINUED_CLASS, STYLE, Estimator, Style


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
    """The piece's markdown; a picture at the size the layout chose, as an ``<img>``."""
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
