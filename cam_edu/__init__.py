"""cam_edu: the helper package of a course on Class Activation Maps.

The notebooks teach; this package computes. Modules, one job each:

- :mod:`cam_edu.validate`  -- input checks with errors that say what to do
- :mod:`cam_edu.gap`       -- global average pooling, naive loop and vectorized
- :mod:`cam_edu.cam`       -- class activation maps and the GAP -> Dense head of a model
- :mod:`cam_edu.layers`    -- finding layers (also inside nested models) and cutting models
- :mod:`cam_edu.viz`       -- upsampling, normalization, overlays and plots
- :mod:`cam_edu.localize`  -- boxes from heatmaps (20 % of max rule) and IoU
- :mod:`cam_edu.perturbation` -- occlusion, LIME and Score-CAM maps
- :mod:`cam_edu.faithfulness` -- deletion/insertion curves, pointing game, randomization
- :mod:`cam_edu.methods`   -- every map method behind one call (for the explorer)
- :mod:`cam_edu.course.data`      -- MNIST (online and an honest offline path)
- :mod:`cam_edu.course.models`    -- the small GAP CNN and a seeded training helper
- :mod:`cam_edu.widgets`   -- the interactive CAM explorer
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"

# Perturbation maps and faithfulness metrics (issue 13), at the top level.
from cam_edu.faithfulness import curve_auc as curve_auc  # noqa: E402
from cam_edu.faithfulness import deletion_curve as deletion_curve  # noqa: E402
from cam_edu.faithfulness import insertion_curve as insertion_curve  # noqa: E402
from cam_edu.faithfulness import randomization_correlation as randomization_correlation  # noqa: E402
from cam_edu.perturbation import lime_map as lime_map  # noqa: E402
from cam_edu.perturbation import occlusion_map as occlusion_map  # noqa: E402
from cam_edu.perturbation import score_cam as score_cam  # noqa: E402
