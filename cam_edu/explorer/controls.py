"""The explorer's controls: ipywidgets that change the state, and the picture they redraw.

A redraw does only the work that changed: the state gives the view (maps cached per image,
class, method and upsampling), :func:`cam_edu.explorer.render.panels` the pixels of the
panels, and only the changed panels travel to the page. The figure's layout (titles, axes,
ticks, the colorbar's frame) is redrawn only when the picture's size or the method changes.

>>> IMAGE, MAP  # the panels another image and another class (or map) repaint
(('input', 'overlay', 'raw', 'scale'), ('overlay', 'raw', 'scale'))
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from cam_edu.explorer.picture import ExplorerPicture
from cam_edu.explorer.render import FIGSIZE, PANELS, ExplorerFigure, panels, png
from cam_edu.explorer.state import ExplorerState
from cam_edu.viz import UPSAMPLING_METHODS

WIDTH_RANGE = (480, 1280)  # CSS pixels the picture may be rendered at
PICTURE_MIN = "min(600px, 100%)"  # the picture keeps 600 px where the notebook has them
MAP = ("overlay", "raw", "scale")  # what a new map changes (the colorbar: only a new method)
IMAGE = ("input", *MAP)


class CamExplorer(widgets.VBox):
    """Controls (image, method, class, follow, alpha, upsampling, threshold, box) and a picture.

    Build it with :func:`cam_edu.widgets.cam_explorer`. ``state`` holds what is shown
    (:class:`cam_edu.explorer.state.ExplorerState`); ``features``, ``probs``, ``display``,
    ``heatmap``, ``box`` and ``class_index`` read it; ``png()`` is the picture as shown and
    ``description`` its alt text. Ticking ``follow`` shows each image's predicted class;
    choosing a class in the menu unticks it, and the chosen class is kept when the image
    changes. The colours follow the method: signed maps (CAM, occlusion, LIME) on a
    diverging scale centred at 0, the others on a min-max scale.
    """

    def __init__(self, *args, **kwargs):
        self.status = widgets.HTML()  # says what a slow method is computing
        self.state = ExplorerState(*args, **kwargs, notify=self._notify)
        s = self.state
        style = {"description_width": "80px"}
        self.image = widgets.IntSlider(0, 0, len(s.x) - 1, description="image", style=style)
        self.method_menu = widgets.Dropdown(
            options=s.method_options(), value=s.method, description="method", style=style
        )
        self.klass = widgets.Dropdown(description="class", style=style)
        self.follow = widgets.Checkbox(True, description="follow the prediction", style=style)
        self.alpha = widgets.FloatSlider(s.alpha, min=0, max=1, step=0.05, description="alpha")
        self.upsampling = widgets.Dropdown(
            options=UPSAMPLING_METHODS, value=s.upsampling, description="upsampling", style=style
        )
        self.threshold = widgets.FloatSlider(
            s.threshold, min=0.05, max=1.0, step=0.05, description="threshold", style=style
        )
        self.show_box = widgets.Checkbox(True, description="box (threshold × max)")
        self.caption, self.notice = widgets.HTML(), widgets.HTML(s.notice)
        self.picture = ExplorerPicture(
            layout=widgets.Layout(flex="1 1 600px", min_width=PICTURE_MIN)
        )
        self._class_options = None
        self._update_class_menu()
        self.image.observe(
            lambda _: self._change(self.state.choose_image, self.image.value, IMAGE), "value"
        )
        self.klass.observe(self._on_class, "value")
        self.follow.observe(
            lambda _: self._change(self.state.follow_prediction, self.follow.value, MAP), "value"
        )
        self.method_menu.observe(self._on_method, "value")
        for control, name in (
            (self.alpha, "alpha"),
            (self.upsampling, "upsampling"),
            (self.threshold, "threshold"),
            (self.show_box, "show_box"),
        ):
            control.observe(lambda change, n=name: self._view_option(n, change["new"]), "value")
        self.picture.observe(self._on_resize, names=["available_width", "pixel_ratio"])
        controls = widgets.VBox(
            [
                self.image,
                self.method_menu,
                self.klass,
                self.follow,
                self.alpha,
                self.upsampling,
                self.threshold,
                self.show_box,
            ],
            layout=widgets.Layout(flex="0 1 330px"),
        )
        row = widgets.Box(
            [self.picture, controls],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"),
        )
        super().__init__([*([self.notice] if s.notice else []), self.status, self.caption, row])
        self._version, self._ratio, self._figure = 0, 1.0, None
        self._new_figure()
        self._layout(FIGSIZE[0] * 72, 1.0)

    # ------------------------------------------------------------------ state readers

    features = property(
        lambda self: self.state.source.features, doc="Activations ``(N, h, w, K)`` or ``None``."
    )
    probs = property(lambda self: self.state.probs, doc="Class probabilities ``(N, C)``.")
    display = property(lambda self: self.state.display, doc="The images drawn, RGB in [0, 1].")
    class_index = property(lambda self: self.state.class_index, doc="The class shown.")
    method = property(lambda self: self.state.method, doc="The method shown (a registry key).")
    figure = property(lambda self: self._figure, doc="The :class:`ExplorerFigure` on the page.")

    @property
    def heatmap(self) -> np.ndarray:
        """The current raw map at the method's resolution."""
        return self.view.heatmap

    @property
    def box(self):
        """The current box in display-image pixels, or ``None``."""
        return self.view.box

    def png(self) -> bytes:
        """The picture as the page shows it, as PNG bytes."""
        return png(self._figure.frame)

    # ------------------------------------------------------------------ events

    def _notify(self, text: str) -> None:
        self.status.value = text

    def _change(self, action, value, dirty) -> None:
        if self._syncing:
            return
        action(value)
        self._refresh(dirty)

    def _on_class(self, _change) -> None:
        if self.klass.value is not None:
            self._change(self.state.choose_class, self.klass.value, MAP)

    def _view_option(self, name: str, value) -> None:
        setattr(self.state, name, value)
        self._refresh(("overlay",))

    def _on_method(self, _change) -> None:
        self.state.choose_method(self.method_menu.value)
        self._new_figure()
        self._layout(self.picture.figure.get("css_width", FIGSIZE[0] * 72), self._ratio)

    def _on_resize(self, _change) -> None:
        """Render at the width the page shows the picture at, times its pixel ratio."""
        available, ratio = self.picture.available_width, self.picture.pixel_ratio
        if available <= 0 or not 0.25 <= ratio <= 8:
            return
        css = float(np.clip(available, *WIDTH_RANGE))
        current = self.picture.figure.get("css_width", 0)
        if ratio == self._ratio and current - 0.5 <= css <= current + 32:
            return  # a few pixels more room: not worth a new layout (no scroll-bar ping-pong)
        self._layout(css, ratio)

    # ------------------------------------------------------------------ drawing

    _syncing = False

    def _new_figure(self) -> None:
        source = self.state.source
        self._figure = ExplorerFigure(
            self.display[0].shape, source.map_shape, source.unit, self.state.scale_label()
        )

    def _layout(self, css_width: float, ratio: float) -> None:
        px = int(css_width * ratio + 0.01)
        self._figure.layout(px)
        self._ratio, self._version = ratio, self._version + 1
        layout = {
            "version": self._version,
            "size": list(self._figure.size),
            "css_width": px / ratio,
            "background": png(self._figure.background),
            "panels": {name: p._asdict() for name, p in self._figure.panels.items()},
        }
        self._refresh(PANELS, layout)

    def redraw(self) -> None:
        """Recompute the current view and repaint the whole picture."""
        self._refresh(PANELS)

    def _refresh(self, dirty, layout: dict | None = None) -> None:
        """Repaint the panels in ``dirty`` for the state, send them, then the controls."""
        self.view = view = self.state.view()
        arrays = panels(view, self.state.alpha, self.state.upsampling, dirty)
        if "scale" in dirty:
            arrays["scale"] = self._figure.scale_numbers(view.limits)
        sent = {}
        for name in dirty:
            bands = (
                self._figure.box_bands(view.box, view.image.shape)
                if name == "overlay" and view.box
                else []
            )
            self._figure.paint(name, arrays[name], bands)
            rgb = arrays[name]
            sent[name] = {"rgb": rgb.tobytes(), "shape": list(rgb.shape[:2]), "box": bands}
        self.description = self.state.description(view)
        with self.picture.hold_sync():  # the picture first: the page paints what is awaited
            if layout is not None:
                self.picture.figure = layout
            for name, panel in sent.items():
                setattr(self.picture, name, panel)
            self.picture.alt = self.description
        self._update_class_menu()
        self.caption.value = self.state.caption(view)

    def _update_class_menu(self) -> None:
        """The class menu and the follow box as the state says (no redraw)."""
        options = self.state.class_options()
        self._syncing = True
        try:
            with self.klass.hold_sync():
                if options != self._class_options:
                    self.klass.options, self._class_options = options, options
                self.klass.value = self.state.class_index
            self.follow.value = self.state.follow
        finally:
            self._syncing = False
