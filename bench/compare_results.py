"""Compare the metrics of two runs, file by file: are two result trees the same numbers?

    python bench/compare_results.py RUN_A RUN_B     (folders holding results/, e.g. two clones)

Every `results/**/metrics.json` present in both is compared key by key, timings and the device
name aside (they differ between any two runs); keys only one side has are listed apart (a
new metric is not a changed one). Exit status 1 when a value differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TIMINGS = {"wall_time_s", "train_samples_per_s", "device_name"}


def compare(a: Path, b: Path) -> tuple[int, list[str], set[str]]:
    """(files with equal values, lines naming the differences, keys found on one side only)."""
    same, different, one_sided = 0, [], set()
    for path in sorted(a.glob("results/**/metrics.json")):
        other = b / path.relative_to(a)
        if not other.exists():
            continue
        left, right = json.loads(path.read_text()), json.loads(other.read_text())
        one_sided |= (left.keys() ^ right.keys()) - TIMINGS
        shared = left.keys() & right.keys() - TIMINGS
        changed = {k: (left[k], right[k]) for k in shared if left[k] != right[k]}
        if changed:
            different.append(f"{path.relative_to(a)}: {changed}")
        else:
            same += 1
    return same, different, one_sided


if __name__ == "__main__":
    same, different, one_sided = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print(*different, sep="\n")
    print(f"{same} metrics.json identical, {len(different)} differ"
          + (f"; keys on one side only: {', '.join(sorted(one_sided))}" if one_sided else ""))
    sys.exit(1 if different else 0)
