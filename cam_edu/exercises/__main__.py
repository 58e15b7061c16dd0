"""``python -m cam_edu.exercises``: build or check the exercise notebooks."""

import sys

from cam_edu.exercises.builder import main

sys.exit(main())
