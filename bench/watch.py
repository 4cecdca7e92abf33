"""What a watch costs: CPU seconds and memory per browser check, and memory after many.

Runs the watch's own browser check (one kept browser, a fresh context per check, restarted
every K checks) back to back against the healthy simulator, and samples the whole process
tree (this Python, Playwright's driver, Chromium) from /proc after each check. Prints the
median CPU seconds per check, what 10 targets checked every 60 s would cost as a share of
one core (goal: under 0.25), peak memory, and memory early and after the last check
(goal: no growth beyond noise, Python's own heap included).

    .venv/bin/python bench/watch.py [--checks 500] [--restart-every 50] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from assistant.playbook import load_site
from assistant.playbook.site import rebase
from assistant.simulator import Simulator
from assistant.watch.checks import BrowserKeeper, Target, browser_check
from assistant.watch.loop import WatchClock

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
GOAL_CORE_SHARE = 0.25


def _tree() -> list[int]:
    """This process and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def sample() -> tuple[float, int]:
    """(CPU seconds, resident bytes) of the process tree."""
    cpu, rss = 0.0, 0
    for pid in _tree():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICK
    return cpu, rss


async def run(checks: int, restart_every: int) -> dict:
    os.environ.setdefault("SIMULATOR_API_KEY", "sk-bench-not-a-real-key")
    with Simulator() as sim:
        target = Target("sim", rebase(load_site("simulator"), sim.url))
        keeper, clock = BrowserKeeper(restart_every=restart_every), WatchClock(0.001)
        cpu, tree_rss, heap, kinds = [], [], [], []
        tracemalloc.start()
        try:
            for n in range(checks):
                restarts, (cpu0, _) = keeper.restarts, sample()
                obs = await browser_check(target, keeper, clock)
                cpu1, rss = sample()
                kinds.append(obs.kind)
                if keeper.restarts == restarts and n > 0:  # a restarted browser's CPU left with it
                    cpu.append(cpu1 - cpu0)
                tree_rss.append(rss)
                heap.append(tracemalloc.get_traced_memory()[0])
                if (n + 1) % 50 == 0:
                    print(f"  {n + 1} checks, tree {rss / 2**20:.0f} MiB, python heap {heap[-1] / 2**20:.1f} MiB", file=sys.stderr)
        finally:
            await keeper.close()
            tracemalloc.stop()
    per_check = statistics.median(cpu)
    early = min(50, checks) - 1
    return {
        "checks": checks, "restart_every": restart_every, "answered": kinds.count("up"),
        "cpu_s_per_check_median": round(per_check, 3), "cpu_s_per_check_p90": round(sorted(cpu)[int(len(cpu) * 0.9)], 3),
        "core_share_10_targets_every_60s": round(per_check * 10 / 60, 3),
        "peak_tree_rss_mib": round(max(tree_rss) / 2**20, 1),
        "python_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tree_rss_mib_at_50": round(tree_rss[early] / 2**20, 1), "tree_rss_mib_at_end": round(tree_rss[-1] / 2**20, 1),
        "python_heap_mib_at_50": round(heap[early] / 2**20, 2), "python_heap_mib_at_end": round(heap[-1] / 2**20, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--restart-every", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(run(args.checks, args.restart_every))
    result["wall_s"] = round(time.monotonic() - started, 1)
    for key, value in result.items():
        print(f"{key:36} {value}")
    ok = result["core_share_10_targets_every_60s"] < GOAL_CORE_SHARE
    print(f"goal: 10 targets every 60 s under {GOAL_CORE_SHARE} of a core: {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
