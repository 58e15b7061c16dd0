"""The decks' sizes: the style the slides are drawn with, and the estimated height of what
goes on a slide (markdown blocks, code, outputs) in CSS pixels.

:class:`Style` gives the sizes the decks' style sheet is written with
(``templates/cam_reveal/deck.css.j2``) and :class:`Estimator` counts on the same numbers;
nothing here is measured in a browser (``tests/test_site_browser.py`` measures every
slide of every deck in Chromium).

>>> Estimator().code(["x = 1", "y = 2"])  # 2 lines of 18 px x 1.35, its box, a gap
74.6
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

from cam_edu.teaching.markdown import (
    IMAGE_ONLY,
    LIST_MARKER,
    TAG,
    list_items,
    markdown_blocks,
    text_lines,
)
from cam_edu.teaching.notebooks import PICTURE_MIMES

# The class of the small "… (continued)" line on a slide that continues a topic.
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


def picture_size(data: str | bytes) -> tuple[int, int]:
    """Width and height in pixels of a base64 PNG or JPEG (or its bytes)."""
    import PIL.Image

    raw = base64.b64decode(data) if isinstance(data, str) else data
    with PIL.Image.open(io.BytesIO(raw)) as image:
        return image.size


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
            inner = TAG.sub("", text)  # the summary's text becomes the first paragraph
            return sum(self.block(k, t) for k, t in markdown_blocks(inner))
        if kind == "hr":
            return 2 * self.s.gap
        picture = IMAGE_ONLY.match(text)
        if picture:
            return self.markdown_picture(picture[2])
        return self.paragraph(TAG.sub("", text) if kind == "html_block" else text)

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
            return self.printout(TAG.sub("", "\n".join(output.traceback)).splitlines()), None
        if "text/markdown" in data:
            return sum(self.block(k, t) for k, t in markdown_blocks(data["text/markdown"])), None
        if "text/html" in data:
            rows = data["text/html"].count("<tr")
            if rows:
                row = self.s.line + 2 * self.s.cell_pad
                return rows * row + self.s.gap + self.s.scrollbar, None
            return self.paragraph(TAG.sub("", data["text/html"])), None
        return self.printout(str(data.get("text/plain", "")).splitlines()), None
