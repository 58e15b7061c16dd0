"""``python -m cam_edu.teaching``: slide metadata, slides, website, instructor page, prefetch."""

import sys

from cam_edu.teaching.cli import main

sys.exit(main())
