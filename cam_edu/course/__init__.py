"""The course's material: data, models and simulations that the lessons use.

- :mod:`cam_edu.course.data`       -- MNIST (online, and an honest offline path), digits on a canvas
- :mod:`cam_edu.course.models`     -- the lessons' GAP CNNs, seeded training, accuracy
- :mod:`cam_edu.course.checkpoints` -- the lessons' trained networks, shipped in ``data/``
- :mod:`cam_edu.course.imagenet`   -- ResNet50 with the ImageNet weights (or an honest offline path)
- :mod:`cam_edu.course.cantilever` -- a simulated cracked cantilever beam, filmed as it vibrates

>>> from cam_edu.course.models import build_gap_cnn
>>> build_gap_cnn().outputs[0].shape
(None, 10)
"""
