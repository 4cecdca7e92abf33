"""All outside probes together versus the slowest one alone, against the simulator.

The probes are independent, so running them concurrently should cost about as much as
the slowest of them: the goal is together <= 1.2 x slowest single. Each probe is timed
alone, then all of them together, alternating, over N rounds; medians are compared.
A ratio, not absolute times, because the machine's load moves both sides alike.

    .venv/bin/python bench/probes_concurrency.py [--rounds N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

from assistant.playbook import load_site
from assistant.playbook.site import rebase
from assistant.probes import PROBE_NAMES, ProbeContext
from assistant.probes.run import run_one, run_probes
from assistant.simulator import Simulator

GOAL = 1.2


async def _timed(coro) -> tuple[float, list]:
    started = time.perf_counter()
    findings = await coro
    return time.perf_counter() - started, findings


def measure(rounds: int) -> dict:
    os.environ.setdefault("SIMULATOR_API_KEY", "sk-bench-not-a-real-key")
    with Simulator() as sim:
        site = rebase(load_site("simulator"), sim.url)
        ctx = ProbeContext(timeout=10.0)
        singles: dict[str, list[float]] = {name: [] for name in PROBE_NAMES}
        together: list[float] = []
        for round_no in range(rounds + 1):  # round 0 warms up imports and connections
            for name in PROBE_NAMES:
                seconds, findings = asyncio.run(_timed(run_one(name, site, ctx)))
                if any(f.outcome in ("error", "timeout") for f in findings):
                    sys.exit(f"probe {name} failed: {[f.summary for f in findings]}")
                if round_no:
                    singles[name].append(seconds)
            seconds, _ = asyncio.run(_timed(run_probes(site, PROBE_NAMES, ctx)))
            if round_no:
                together.append(seconds)
    medians = {name: statistics.median(times) for name, times in singles.items()}
    slowest = max(medians, key=medians.get)
    ratio = statistics.median(together) / medians[slowest]
    return {"rounds": rounds, "single_median_s": medians, "slowest": slowest,
            "together_median_s": statistics.median(together), "ratio": ratio, "goal": GOAL, "met": ratio <= GOAL}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    result = measure(args.rounds)
    for name, seconds in sorted(result["single_median_s"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<12} alone  {seconds * 1000:8.1f} ms")
    print(f"  {'all':<12} together {result['together_median_s'] * 1000:6.1f} ms")
    verdict = "goal met" if result["met"] else "goal NOT met"
    print(f"ratio together / slowest ({result['slowest']}) = {result['ratio']:.2f}  (goal <= {GOAL}: {verdict})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
