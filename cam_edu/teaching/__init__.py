"""Instructor tooling: slides, the course website, the instructor page, the classroom cache.

Everything here is generated from the executed lesson notebooks by commands, never by
hand, so that it follows the lessons when they are rewritten:

- :mod:`cam_edu.teaching.execute`: runs the lessons as the course stores them
  (``make lessons``).
- :mod:`cam_edu.teaching.notebooks`: slide metadata on the lesson cells, measured cell
  times, speaker notes, and static pictures of the explorer.
- :mod:`cam_edu.teaching.diagrams`: the lessons' diagrams, drawn by code, shown in the
  lessons as attachments (``python -m cam_edu.teaching diagrams``).
- :mod:`cam_edu.teaching.markdown`: a lesson's markdown read as blocks, items, sentences.
- :mod:`cam_edu.teaching.sizes`: the decks' style and the estimated height of their parts.
- :mod:`cam_edu.teaching.layout`: how a lesson is cut into slides that fit the screen.
- :mod:`cam_edu.teaching.deck`: the deck's notebook, slide by slide, with its notes.
- :mod:`cam_edu.teaching.notes`: the decks' speaker notes.
- :mod:`cam_edu.teaching.slides`: one reveal.js deck per lesson (``make slides``).
- :mod:`cam_edu.teaching.site`: the static course website (``make site``), whose pages
  :mod:`cam_edu.teaching.readable` (a Sphinx extension) makes readable by everyone.
- :mod:`cam_edu.teaching.instructor`: the instructor page (``docs/instructor.md``).
- :mod:`cam_edu.teaching.prefetch`: MNIST and the ResNet50 weights into the caches.
- :mod:`cam_edu.teaching.cli`: the commands, ``python -m cam_edu.teaching <command>``.
- :mod:`cam_edu.teaching.assets`: the JavaScript the decks and the site serve themselves.

>>> from cam_edu.teaching import notebooks
>>> notebooks.lesson_paths()[0].name
'01_gap_naive_mnist.ipynb'
"""
