"""`--junit FILE`: the run as JUnit XML, for CI dashboards; written when the run ends, however it ends.

One testsuite per run, one testcase per step. A failed step's failure text and its
`<system-out>` list every attempt: outcome, the signal that decided it, the wait before it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from assistant import events as ev
from assistant.errors import EnvironmentProblem
from assistant.report.files import write_report
from assistant.report.redact import redact


class JunitReporter:
    """Writes the RunResult as JUnit XML when the run ends."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.written = False
        self.error: EnvironmentProblem | None = None  # why the file could not be written

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunEnded) and event.result is not None:
            tree = junit_tree(event.result)
            ET.indent(tree)
            text = ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True)
            try:
                write_report(self.path, redact(text).encode("utf-8"), "the --junit report")
                self.written = True
            except EnvironmentProblem as exc:
                self.error = exc


def junit_tree(result) -> ET.ElementTree:
    """<testsuites><testsuite name=PLAYBOOK>, a <testcase> per step (block steps flattened)."""
    cases = [_case(result.playbook, s) for s in _flatten(result.steps)]
    failures = sum(c.find("failure") is not None for c in cases)
    errors = sum(c.find("error") is not None for c in cases)
    skipped = sum(c.find("skipped") is not None for c in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors), "skipped": str(skipped), "time": f"{result.duration_s:.3f}"}
    root = ET.Element("testsuites", counts)
    suite = ET.SubElement(root, "testsuite", {"name": result.playbook, **counts, "timestamp": result.started_at or ""})
    props = ET.SubElement(suite, "properties")
    for name in ("site", "url", "browser", "outcome"):
        ET.SubElement(props, "property", {"name": name, "value": str(getattr(result, name) or "")})
    suite.extend(cases)
    if result.outcome in ("error", "interrupted") and not any(c.find("failure") is not None for c in cases):
        # The run ended without a failed step to carry why: say it on a case of its own.
        case = ET.SubElement(suite, "testcase", {"name": "run", "classname": result.playbook, "time": "0"})
        ET.SubElement(case, "error", {"message": result.summary, "type": result.outcome}).text = result.error or result.summary
        suite.set("errors", str(errors + 1))
        suite.set("tests", str(len(cases) + 1))
    lines = [f"{result.outcome.upper()}  {result.summary}", *result.notes]
    ET.SubElement(suite, "system-out").text = "\n".join(lines)
    return ET.ElementTree(root)


def _flatten(steps):
    """Steps in order, a retry block's inner steps (of its last attempt) after the block."""
    for step in steps:
        yield step
        inner = step.attempts[-1].steps if step.attempts else []
        yield from _flatten(inner)


def _case(playbook: str, step) -> ET.Element:
    name = f"{step.index} {step.label}"
    case = ET.Element("testcase", {"name": name, "classname": playbook, "time": f"{step.duration_s:.3f}"})
    attempts = attempt_lines(step)
    if step.outcome == "tolerated":  # an optional step that failed: no JUnit state of its own
        attempts = [f"tolerated (optional): {step.detail}", *attempts]
    if step.outcome == "failed":
        text = "\n".join([step.detail, *attempts])
        ET.SubElement(case, "failure", {"message": step.detail or "failed", "type": step.name}).text = text
    elif step.outcome == "skipped":
        ET.SubElement(case, "skipped", {"message": step.detail or "skipped"})
    if attempts:
        ET.SubElement(case, "system-out").text = "\n".join(attempts)
    return case


def attempt_lines(step) -> list[str]:
    """One readable line per attempt: number, outcome, signal summary, the wait before it."""
    out = []
    for a in step.attempts:
        summary = a.signal.get("summary", "") if isinstance(a.signal, dict) else ""
        line = f"attempt {a.number}: {a.outcome} after waiting {a.waited_s:g}s ({a.duration_s:.2f}s)"
        out.append(f"{line}: {summary}" if summary else line)
    return out
