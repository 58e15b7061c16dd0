"""Write data/imagenet_classes.json: the 1,000 ImageNet-1k classes in Keras's output order.

Keras's ``decode_predictions`` downloads its class index at first use, which fails
offline. The same list ships inside the ``timm`` wheel on PyPI (Apache-2.0):
``imagenet_synsets.txt`` holds the 1,000 WordNet ids in the standard (sorted) order that
Keras's ResNet50 uses, ``imagenet_synset_to_lemma.txt`` their names.

    pip download --no-deps -d /tmp/timm timm
    python scripts/make_imagenet_classes.py /tmp/timm/timm-*.whl
"""

import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "imagenet_classes.json"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        wnids = z.read("timm/data/_info/imagenet_synsets.txt").decode().split()
        lemmas = dict(
            line.split("\t", 1)
            for line in z.read("timm/data/_info/imagenet_synset_to_lemma.txt").decode().splitlines()
        )
    assert len(wnids) == 1000 and wnids == sorted(wnids)
    classes = [[wnid, lemmas[wnid].split(",")[0].strip()] for wnid in wnids]
    rows = ",\n".join(json.dumps(c) for c in classes)
    OUT.write_text(f'{{"source": {json.dumps(Path(wheel).name)},\n"classes": [\n{rows}\n]}}\n')
    print(f"wrote {len(classes)} classes to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
