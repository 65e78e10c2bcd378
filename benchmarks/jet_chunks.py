"""How many points a KAN's jet carries through its layers at a time: the cost of one training step
against the chunk size (kanpde.nets.kan.JET_CHUNK_POINTS).

    OMP_NUM_THREADS=1 python benchmarks/jet_chunks.py [--problems advection1d allen_cahn burgers1d]
        [--scales 1 4 16] [--basis bspline] [--rounds 3]

Each problem's own training loss (benchmarks/step_cost.py's ``build``: its points and KAN, at s
times the points and parameters), loss + backward; the settings alternate within every round, so
machine load hits all alike. Printed: median ms per step (min-max) per setting; "whole" is one
chunk (the layers' temporaries as large as all points).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from kanpde.nets import kan

sys.path.insert(0, str(Path(__file__).parent))
from step_cost import build, step  # noqa: E402

SETTINGS = {"whole": 1 << 40, "by 512": 512, "by 1024 (default)": 1024, "by 2048": 2048, "by 4096": 4096}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="*", default=["advection1d", "allen_cahn", "burgers1d"])
    parser.add_argument("--scales", nargs="*", type=float, default=[1, 4, 16])
    parser.add_argument("--basis", default="bspline")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"| problem | scale | params | {' | '.join(SETTINGS)} |")
    print("|---|---|---|" + "---|" * len(SETTINGS))
    for problem in args.problems:
        for scale in args.scales:
            loss, params = build(problem, "kan", [f"model.basis={args.basis}"], scale)
            times: dict[str, list[float]] = {name: [] for name in SETTINGS}
            for r in range(args.rounds + 1):
                for name, points in SETTINGS.items():
                    kan.JET_CHUNK_POINTS = points
                    start = time.perf_counter()
                    step(loss)
                    if r:  # round 0 warms up
                        times[name].append(time.perf_counter() - start)
            cells = [f"{1e3 * statistics.median(t):.0f} ({1e3 * min(t):.0f}-{1e3 * max(t):.0f})" for t in times.values()]
            print(f"| {problem} | {scale:g}x | {params} | {' | '.join(cells)} |", flush=True)
    kan.JET_CHUNK_POINTS = SETTINGS["by 1024 (default)"]


if __name__ == "__main__":
    main()
