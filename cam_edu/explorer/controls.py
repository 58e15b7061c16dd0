"""The explorer's controls: ipywidgets that change the state, and the picture they redraw.

A redraw does only the work that changed: the state gives the view (maps cached per image,
class, method and upsampling), :func:`cam_edu.explorer.render.panels` the pixels of the
panels, and only the changed panels travel to the page. The figure's layout (titles, axes,
ticks, the colorbar's frame) is redrawn only when the picture's size or the method changes.

>>> IMAGE, MAP  # the panels another image and another class (or map) repaint
(('input', 'overlay', 'raw', 'scale'), ('overlay', 'raw', 'scale'))
"""

from __future__ import annotations

import numpy as np

from cam_edu.explorer.picture import ExplorerPicture
from cam_edu.explorer.render import DEFAULT_WIDTH, PANELS, ExplorerFigure, panels, png
from cam_edu.explorer.state import ExplorerState, caption, description, scale_label
from cam_edu.extras import require
from cam_edu.viz import UPSAMPLING_METHODS

widgets = require("ipywidgets", "explorer", "the explorer")

WIDTH_RANGE = (DEFAULT_WIDTH, 1280)  # CSS pixels the picture may be rendered at
PICTURE_MIN = f"{DEFAULT_WIDTH}px"  # never narrower: a narrow notebook scrolls sideways to it
MAP = ("overlay", "raw", "scale")  # what a new map changes (the colorbar: only a new method)
IMAGE = ("input", *MAP)


VIEW_OPTIONS = ("alpha", "upsampling", "threshold", "show_box")  # they change the overlay only
# the picture and the controls side by side, the controls under it when there is no room;
# a notebook narrower than the picture scrolls sideways to it
ROW = widgets.Layout(flex_flow="row wrap", align_items="flex-start", width="100%", overflow="auto")


def control_widgets(state: ExplorerState) -> dict[str, widgets.Widget]:
    """The controls, set as the state is, in the order they are shown."""
    style = {"description_width": "80px"}
    return {
        "image": widgets.IntSlider(0, 0, len(state.x) - 1, description="image", style=style),
        "method_menu": widgets.Dropdown(
            options=state.method_options(), value=state.method, description="method", style=style
        ),
        "klass": widgets.Dropdown(description="class", style=style),
        "follow": widgets.Checkbox(True, description="follow the prediction", style=style),
        "alpha": widgets.FloatSlider(
            state.alpha, min=0, max=1, step=0.05, description="alpha", style=style
        ),
        "upsampling": widgets.Dropdown(
            options=UPSAMPLING_METHODS,
            value=state.upsampling,
            description="upsampling",
            style=style,
        ),
        "threshold": widgets.FloatSlider(
            state.threshold, min=0.05, max=1.0, step=0.05, description="threshold", style=style
        ),
        "show_box": widgets.Checkbox(True, description="box (threshold × max)"),
    }


class CamExplorer(widgets.VBox):
    """Controls (image, method, class, follow, alpha, upsampling, threshold, box) and a picture.

    Build it with :func:`cam_edu.widgets.cam_explorer`. ``state`` holds what is shown
    (:class:`cam_edu.explorer.state.ExplorerState`); ``view``, ``features``, ``probs``,
    ``display``, ``heatmap``, ``box``, ``class_index`` and ``description`` (the picture's alt
    text) read it; ``png()`` is the picture as shown. Ticking ``follow`` shows each image's
    predicted class; choosing a class in the menu unticks it, and the chosen class is kept
    when the image changes. The colours follow the method: signed maps (CAM, occlusion, LIME) on a
    diverging scale centred at 0, the others on a min-max scale.
    """

    def __init__(self, *args, **kwargs):
        self.status = widgets.HTML()  # says what a slow method is computing
        self.state = s = ExplorerState(*args, **kwargs, notify=self._notify)
        controls = control_widgets(s)
        for name, control in controls.items():
            setattr(self, name, control)
        self.caption, self.notice = widgets.HTML(), widgets.HTML(s.notice)
        self.picture = ExplorerPicture(
            layout=widgets.Layout(flex=f"1 1 {PICTURE_MIN}", min_width=PICTURE_MIN)
        )
        self._class_options = None
        self._update_class_menu()
        self.image.observe(lambda _: self._change(s.choose_image, self.image.value, IMAGE), "value")
        self.klass.observe(self._on_class, "value")
        self.follow.observe(
            lambda _: self._change(s.follow_prediction, self.follow.value, MAP), "value"
        )
        self.method_menu.observe(self._on_method, "value")
        for name in VIEW_OPTIONS:
            controls[name].observe(lambda c, n=name: self._view_option(n, c["new"]), "value")
        self.picture.observe(self._on_resize, names=["available_width", "pixel_ratio"])
        column = widgets.VBox(list(controls.values()), layout=widgets.Layout(flex="0 1 330px"))
        row = widgets.Box([self.picture, column], layout=ROW)
        super().__init__([*([self.notice] if s.notice else []), self.status, self.caption, row])
        self._version, self._ratio, self._figure = 0, 1.0, None
        self._new_figure()
        self._layout(DEFAULT_WIDTH, 1.0)

    # ------------------------------------------------------------------ state readers

    features = property(
        lambda self: self.state.source.features, doc="Activations ``(N, h, w, K)`` or ``None``."
    )
    probs = property(lambda self: self.state.probs, doc="Class probabilities ``(N, C)``.")
    display = property(lambda self: self.state.display, doc="The images drawn, RGB in [0, 1].")
    class_index = property(lambda self: self.state.class_index, doc="The class shown.")
    method = property(lambda self: self.state.method, doc="The method shown (a registry key).")
    figure = property(lambda self: self._figure, doc="The :class:`ExplorerFigure` on the page.")

    view = property(lambda self: self.state.view(), doc="What the state shows (cached maps).")
    heatmap = property(lambda self: self.view.heatmap, doc="The raw map at its resolution.")
    box = property(lambda self: self.view.box, doc="The box in image pixels, or ``None``.")
    description = property(
        lambda self: description(self.state, self.view), doc="The picture in one sentence."
    )

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
        self._layout(self.picture.figure.get("css_width", DEFAULT_WIDTH), self._ratio)

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
            self.display[0].shape, source.map_shape, source.unit, scale_label(self.state)
        )

    def _layout(self, css_width: float, ratio: float) -> None:
        self._ratio, self._version = ratio, self._version + 1
        layout = self._figure.layout(int(css_width * ratio + 0.01), ratio, self._version)
        self._refresh(PANELS, layout)

    def redraw(self) -> None:
        """Recompute the current view and repaint the whole picture."""
        self._refresh(PANELS)

    def _refresh(self, dirty, layout: dict | None = None) -> None:
        """Repaint the panels in ``dirty`` for the state, send them, then the controls."""
        view = self.state.view()
        arrays = panels(view, self.state.alpha, dirty)
        if "scale" in dirty:
            arrays["scale"] = self._figure.scale_numbers(view.limits)
        box = self._figure.box_bands(view.box, view.image.shape) if view.box else []
        sent = {
            name: self._figure.paint(name, arrays[name], box if name == "overlay" else [])
            for name in dirty
        }
        with self.picture.hold_sync():  # the picture first: the page paints what is awaited
            if layout is not None:
                self.picture.figure = layout
            for name, panel in sent.items():
                setattr(self.picture, name, panel)
            self.picture.alt = description(self.state, view)
        self._update_class_menu()
        self.caption.value = caption(self.state, view)

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
