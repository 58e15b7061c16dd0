"""The JavaScript the slides and the website serve themselves: copies from ``node_modules/``.

``npm ci`` (run by ``make slides``, ``make site`` and ``make test``) installs the versions
locked in ``package-lock.json``; nothing is fetched from a CDN when building or when
viewing. Only the files the pages load are copied (MathJax: the TeX input and the
CommonHTML output with its TeX fonts).

It also finds what must never be in the output: a reference to a remote asset.

>>> remote_assets('<script src="https://unpkg.com/x.js"></script><a href="https://a.org">')
['https://unpkg.com/x.js']
>>> remote_assets('<link rel="stylesheet" href="reveal.js/dist/reveal.css">')
[]
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cam_edu.teaching.notebooks import REPO

NODE_MODULES = REPO / "node_modules"
REVEAL_THEME = "white"
# package -> files or folders (relative to the package) that the pages load
FILES = {
    "reveal.js": [
        "dist/reveal.js",
        "dist/reveal.css",
        f"dist/theme/{REVEAL_THEME}.css",
        "dist/theme/fonts/source-sans-pro",
        "plugin/notes/notes.js",
    ],
    "requirejs": ["require.js"],
    "jquery": ["dist/jquery.min.js"],
    "mathjax": [
        "MathJax.js",
        "config/TeX-AMS_CHTML-full.js",
        "config/Safe.js",
        "extensions",
        "jax/element",
        "jax/input/TeX",
        "jax/output/CommonHTML",
        "fonts/HTML-CSS/TeX/woff",
    ],
}
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"
_REMOTE = [
    r"""<(?:script|img|iframe|source|video|audio|embed)\b[^>]*?\bsrc\s*=\s*["']?(https?://[^"'\s>]+)""",
    r"""<link\b[^>]*?\bhref\s*=\s*["']?(https?://[^"'\s>]+)""",
    r"""url\(\s*["']?(https?://[^"')\s]+)""",
    r"""@import\s+["'](https?://[^"']+)""",
    r"""import\s[^;'"]*?from\s+["'](https?://[^"']+)""",
    r"""["'](https?://[^"'\s]+\.(?:m?js|css))["']""",
]


def missing_hint() -> str:
    return (
        f"{NODE_MODULES} lacks the JavaScript packages: run `npm ci` in the repository "
        "(`make slides` and `make site` do)."
    )


def copy_assets(target: Path, packages: tuple[str, ...] = tuple(FILES)) -> list[Path]:
    """Copy the ``packages``' files into ``target/<package>/...``; return the copied roots."""
    copied = []
    for package in packages:
        parts = FILES[package]
        for part in parts:
            source = NODE_MODULES / package / part
            if not source.exists():
                raise FileNotFoundError(f"{source} is missing. {missing_hint()}")
            destination = target / package / part
            destination.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True)
            else:
                shutil.copy2(source, destination)
            copied.append(destination)
    return copied


def remote_assets(html: str) -> list[str]:
    """URLs of remote scripts, styles, images, fonts or frames that ``html`` would load.

    Links a reader may follow (``<a href="https://...">``) are not assets.
    """
    found: list[str] = []
    for pattern in _REMOTE:
        found += [url for url in re.findall(pattern, html, flags=re.IGNORECASE)]
    return sorted(set(found))


def remote_assets_in(folder: Path) -> dict[str, list[str]]:
    """:func:`remote_assets` of every HTML and CSS file under ``folder``, copies included."""
    report = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".html", ".css"):
            continue
        urls = remote_assets(path.read_text(errors="replace"))
        if urls:
            report[str(path.relative_to(folder))] = urls
    return report
