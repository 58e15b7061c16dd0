"""Sphinx configuration of the course website (built by ``make site``).

``python -m cam_edu.teaching site`` copies this file into ``build/site-src/`` with the
pages it generates there, then builds ``build/site/``. Everything the pages load is local:
MathJax from ``_static/mathjax`` (a copy of the npm package), Furo's own CSS and JS, and
Sphinx's search index. The notebooks are never executed: their stored outputs are shown.
"""

from cam_edu.teaching.assets import MATHJAX_CONFIG

project = "cam_edu"
copyright = "cam_edu authors, MIT licence"
# cam_edu.teaching.readable: pictures described and opening full size, scrolling boxes
# reachable by keyboard, toggles and sidebar captions named (axe-core finds no violation).
extensions = ["myst_nb", "cam_edu.teaching.readable"]
exclude_patterns = ["_build", "_static", "_extra", "**/.ipynb_checkpoints"]
html_theme = "furo"
html_title = "cam_edu: Class Activation Maps, from a loop to Grad-CAM++"
html_static_path = ["_static"]
html_css_files = ["cam.css"]
html_extra_path = ["_extra"]
html_show_sourcelink = False
html_copy_source = False
# The MathJax 2 that the static slides use too, served from _static (never a CDN).
mathjax_path = f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
# myst-nb marks its pages mathjax_ignore; MathJax is to typeset Sphinx's ``math`` nodes only.
mathjax2_config = {
    "tex2jax": {
        "processClass": "math",
        "ignoreClass": "tex2jax_ignore|mathjax_ignore",
        "processEscapes": True,
    }
}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # show the outputs the notebooks were executed with
nb_merge_streams = True
nb_ipywidgets_js = {}  # the explorer is shown as its stored picture: no widget JavaScript
suppress_warnings = ["mystnb.unknown_mime_type"]
