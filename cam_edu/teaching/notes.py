"""Speaker notes of the static decks, one per slide of :func:`cam_edu.teaching.layout.layout`.

The speaker view (``S``) shows, for the slide on screen:

- **About N min** and the topic: the estimate of
  :func:`cam_edu.teaching.notebooks.slide_minutes` for what this slide shows (its text
  spoken, its code explained, the run time of the cells it runs); the notes of a deck add
  up to the lesson's class time;
- *Say:* whole sentences of the slide's text, as written, one per line: the first sentence
  (:func:`cam_edu.teaching.markdown.sentences`, which knows "et al." and "e.g.") of each
  paragraph or list item, until :data:`SAY_CHARS` characters. A paragraph's lines are
  joined; nothing is joined across a formula, a list item or a heading;
- *Figure:* each picture's description;
- *Run:* the code cells this slide runs and their measured time, and *Show live* for the
  explorer;
- the cells the deck leaves out (imports, slow cells), to run before class.

>>> first_sentences("A map.\\nIt is $7 \\\\times 7$.\\n\\n- one\\n- two", limit=100)
['A map.', 'one', 'two']
"""

from __future__ import annotations

from cam_edu.teaching import notebooks as nbs
from cam_edu.teaching.layout import DeckSlide
from cam_edu.teaching.markdown import (
    IMAGE_ONLY,
    LIST_MARKER,
    list_items,
    markdown_blocks,
    sentences,
)

SAY_CHARS = 240


def prose(markdown: str) -> list[str]:
    """The paragraphs and list items of ``markdown`` (headings, formulas, pictures left out)."""
    found = []
    for kind, text in markdown_blocks(markdown):
        if kind == "paragraph" and not text.lstrip().startswith("$$"):
            if not IMAGE_ONLY.match(text):
                found.append(text)
        elif kind in ("bullet_list", "ordered_list"):
            for item in list_items(text):
                found.append(LIST_MARKER.sub("", item).split("\n\n")[0])
    return [" ".join(p.split()) for p in found]


def first_sentences(markdown: str, limit: int = SAY_CHARS) -> list[str]:
    """The first sentence of each paragraph or list item, until ``limit`` characters."""
    chosen: list[str] = []
    for paragraph in prose(markdown):
        if chosen and sum(map(len, chosen)) >= limit:
            break
        chosen.append(sentences(paragraph)[0].strip())
    return chosen


def shown_parts(slide: DeckSlide) -> list[tuple[int, str | None]]:
    """What a deck slide shows of each lesson cell, for :func:`notebooks.slide_minutes`:
    the markdown or code lines of its pieces, ``None`` for an output."""
    return [(p.origin, p.source if p.output is None else None) for p in slide.pieces]


class Notes:
    """Writes the notes of the slides of one deck, in order (it counts what ran before).

    ``live`` holds the cells that showed a widget before the deck froze it.
    """

    def __init__(self, live: set[int] = frozenset()):
        self.live = set(live)
        self.ran: set[int] = set()

    def __call__(self, nb, slide: DeckSlide) -> str:
        before = set(self.ran)
        topic = slide.section + (" (continued)" if slide.continued else "")
        minutes = nbs.slide_minutes(nb, shown_parts(slide), self.ran)
        minutes = f"**About {minutes:.1f} min.**"
        notes = [f"{minutes} *{topic}*" if topic else minutes]
        text = "\n\n".join(
            p.source for p in slide.pieces if nb.cells[p.origin].cell_type == "markdown"
        )
        said = first_sentences(text)
        if said:
            notes.append("Say:\n\n" + "\n".join(f"- {sentence}" for sentence in said))
        for piece in slide.pieces:
            if piece.output is None:
                continue
            output = nb.cells[piece.origin].outputs[piece.output]
            mime = next((m for m in nbs.PICTURE_MIMES if m in output.get("data", {})), None)
            alt = output.get("metadata", {}).get(mime, {}).get("alt") if mime else None
            if alt:
                notes.append(f"Figure: {alt}")
        runs = sorted(self.ran - before)
        if runs:
            seconds = sum(nbs.cell_seconds(nb.cells[i]) or 0.0 for i in runs)
            live = " Show the explorer live in JupyterLab." if self.live & set(runs) else ""
            notes.append(f"Run: {len(runs)} code cell(s), {seconds:.1f} s measured.{live}")
        for i in slide.skipped:
            reason = nbs.skip_reason(nb.cells[i]) or "marked skip"
            notes.append(f"Skipped here, run before class: {reason}.")
        return "\n\n".join(notes)
