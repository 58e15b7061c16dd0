"""Command line of :mod:`cam_edu.teaching` (``python -m cam_edu.teaching COMMAND``).

- ``execute [LESSON ...]``: run the lessons as the course stores them (:mod:`.execute`).
- ``metadata [--check]``: set the slide metadata on the lesson notebooks (only their cell
  metadata changes); ``--check`` exits 1 if a lesson lacks it or has stale metadata.
- ``slides [LESSON ...]``: the reveal.js decks into ``build/slides/``.
- ``site``: the course website into ``build/site/``.
- ``instructor [--check]``: write ``docs/instructor.md``; ``--check`` exits 1 if stale.
- ``diagrams [--check]``: draw the lessons' diagrams (``docs/images/diagrams/``) and
  refresh the lessons' attachments; ``--check`` exits 1 if one is stale.
- ``prefetch [--verify-only]``: MNIST and the ResNet50 weights into the Keras cache.

>>> parser().parse_args(["slides", "03"]).lessons
['03']
"""

from __future__ import annotations

import argparse

import nbformat


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cam_edu.teaching", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("execute", help="run the lessons and store their outputs").add_argument(
        "lessons", nargs="*", help="lesson numbers or names (default: all)"
    )
    sub.add_parser("metadata", help="slide metadata on the lessons").add_argument(
        "--check", action="store_true", help="exit 1 if the metadata is missing or stale"
    )
    sub.add_parser("slides", help="reveal.js decks").add_argument(
        "lessons", nargs="*", help="lesson numbers or names (default: all)"
    )
    sub.add_parser("site", help="the course website")
    sub.add_parser("instructor", help="docs/instructor.md").add_argument(
        "--check", action="store_true", help="exit 1 if docs/instructor.md is stale"
    )
    sub.add_parser("diagrams", help="draw the lessons' diagrams").add_argument(
        "--check", action="store_true", help="exit 1 if a diagram is stale"
    )
    sub.add_parser("prefetch", help="MNIST and ResNet50 weights into the caches").add_argument(
        "--verify-only", action="store_true", help="only verify the cached files"
    )
    return p


def metadata(check: bool) -> int:
    from cam_edu.teaching.notebooks import annotate, lesson_paths

    stale = []
    for path in lesson_paths():
        nb = nbformat.read(path, as_version=4)
        if annotate(nb):
            stale.append(path.name)
            if not check:
                nbformat.write(nb, path)
    verb = "stale (run `python -m cam_edu.teaching metadata`)" if check else "updated"
    print(f"slide metadata {verb}: {', '.join(stale)}" if stale else "slide metadata up to date")
    return int(check and bool(stale))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "execute":
        from cam_edu.teaching import execute

        return execute.main(args.lessons)
    if args.command == "metadata":
        return metadata(args.check)
    if args.command == "slides":
        from cam_edu.teaching import slides

        return slides.main(args.lessons)
    if args.command == "site":
        from cam_edu.teaching import site

        return site.main()
    if args.command == "instructor":
        from cam_edu.teaching import instructor

        return instructor.main(args.check)
    if args.command == "diagrams":
        from cam_edu.teaching import diagrams

        return diagrams.main(args.check)
    from cam_edu.teaching import prefetch

    return prefetch.main(verify_only=args.verify_only)
