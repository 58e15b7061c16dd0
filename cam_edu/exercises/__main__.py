"""``python -m cam_edu.exercises``: build, check or grade the exercise notebooks."""

import sys

from cam_edu.exercises.cli import main

sys.exit(main())
