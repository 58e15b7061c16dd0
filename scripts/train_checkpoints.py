"""Train the lessons' networks once and ship their weights in ``data/``.

    python scripts/train_checkpoints.py              # all of them
    python scripts/train_checkpoints.py beam mnist_gap

Each network is trained by its recipe in :data:`cam_edu.course.checkpoints.RECIPES`
(seeded; the MNIST ones on the offline MNIST subset, with or without a network); its
weights go to ``data/<name>.weights.h5`` and its seed, epochs, data, training time and
test accuracy to ``data/checkpoints.json``. One progress line per network.
"""

import argparse
import sys

from cam_edu.course.checkpoints import DATA_DIR, RECIPES, train_checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {list(RECIPES)}")
    names = parser.parse_args(argv).names or list(RECIPES)
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        parser.error(f"unknown checkpoint(s) {unknown}; the known ones are {list(RECIPES)}")
    for name in names:
        print(f"{name}: training ...", end=" ", flush=True)
        entry = train_checkpoint(name)
        print(
            f"{entry['epochs']} epochs on {entry['train_size']:,} images in "
            f"{entry['training_seconds']} s; test accuracy {entry['test_accuracy']:.4f} "
            f"({entry['test_correct']}/{entry['test_size']}) -> {DATA_DIR / entry['file']}",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
