"""The interactive CAM explorer, in parts (the widgets need ``pip install "cam_edu[explorer]"``;
the state, the sources and the rendering are plain Python):

- :mod:`cam_edu.explorer.sources`  -- the maps of any registry method, one at a time, kept
- :mod:`cam_edu.explorer.state`    -- image, class, method, view options, caption: plain Python
- :mod:`cam_edu.explorer.render`   -- the figure's layout and the panels' pixels
- :mod:`cam_edu.explorer.picture`  -- the picture widget that paints them in the page
- :mod:`cam_edu.explorer.controls` -- the controls that change the state, and the explorer

The public entry is :func:`cam_edu.widgets.cam_explorer`.

>>> from cam_edu.explorer.render import PANELS
>>> PANELS  # what the picture repaints; the rest is the layout's background
('input', 'overlay', 'raw', 'colorbar', 'scale')
"""
