"""Reading a lesson's markdown: its blocks, list items, sentences and visible length.

The decks' layout (:mod:`cam_edu.teaching.layout`) cuts text between these pieces and
estimates their size; the speaker notes (:mod:`cam_edu.teaching.notes`) quote whole
sentences of them.

A sentence ends at ``.``, ``!`` or ``?`` (and any closing quotes or brackets) followed by
space and a capital, a digit, a formula, emphasis, code or an opening bracket, except
after an abbreviation that a sentence hardly ends with (:data:`ABBREVIATIONS`). A
number's decimal point is no end (no space follows it).

>>> sentences("Sun et al. (2020) test it, e.g. $x$, cf. Fig. 3. It scored 0.5. Good.")
['Sun et al. (2020) test it, e.g. $x$, cf. Fig. 3.', 'It scored 0.5.', 'Good.']
>>> [kind for kind, _ in markdown_blocks("## A\\n\\nText.\\n\\n- one\\n- two")]
['heading', 'paragraph', 'bullet_list']
"""

from __future__ import annotations

import math
import re

from markdown_it import MarkdownIt

# Abbreviations after which a period does not end the sentence (as written in the lessons).
ABBREVIATIONS = (
    "et al.",
    "e.g.",
    "i.e.",
    "cf.",
    "vs.",
    "approx.",
    "Fig.",
    "Figs.",
    "Eq.",
    "Eqs.",
    "Sec.",
    "Ref.",
)

_MD = MarkdownIt("commonmark").enable("table")
_INLINE_MATH = re.compile(r"\$([^$]+)\$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
TAG = re.compile(r"<[^>]+>")
LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
IMAGE_ONLY = re.compile(r"^\s*!\[([^\]]*)\]\(([^)\s]+)[^)]*\)\s*$")
# The end of a sentence: its mark and closing quotes or brackets, then (group 1) the space
# before the next sentence's start.
_SENTENCE_END = re.compile(r"[.!?][\"”')\]]*(\s+)(?=[A-Z0-9$*_`(\[\"“])")
_ABBREVIATION_END = re.compile(
    r"(?:^|[\s(\[\"“])(?:" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")$"
)


def sentences(text: str) -> list[str]:
    """A paragraph's sentences, each as written (its line breaks and closing quotes kept)."""
    found, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if _ABBREVIATION_END.search(text, 0, end.start() + 1):
            continue
        found.append(text[start : end.start(1)])
        start = end.end(1)
    found.append(text[start:])
    return [sentence for sentence in found if sentence.strip()]


def visible_chars(markdown: str) -> float:
    """About how many characters ``markdown`` shows (links by their text, TeX compact).

    >>> visible_chars("See [the paper](https://example.org/a/long/path) for $\\\\alpha_k$.")
    22.0
    """
    text = _LINK.sub(r"\1", markdown)
    text = _INLINE_MATH.sub(lambda m: "x" * len(re.sub(r"\\[A-Za-z]+|[{}^_\\]", "x", m[1])), text)
    text = _CODE_SPAN.sub(lambda m: m[1] + "x" * (len(m[1]) // 6 + 1), text)  # wider font
    text = TAG.sub("", text).replace("**", "")
    return float(len(" ".join(text.split())))


def text_lines(markdown: str, chars_per_line: int) -> int:
    """Lines a paragraph of ``markdown`` wraps to."""
    return max(1, math.ceil(visible_chars(markdown) / chars_per_line))


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
