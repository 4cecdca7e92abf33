"""A GitHub job summary: the run as Markdown (outcome, each step's attempts, the verdict).

Written to `--summary FILE` (replaced), or appended to `$GITHUB_STEP_SUMMARY` when that is
set (GitHub Actions shows what every step of a job appended there on the run's page).
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant import events as ev
from assistant.errors import EnvironmentProblem
from assistant.report.files import write_report
from assistant.report.redact import redact

_ICON = {"passed": "✅", "failed": "❌", "error": "⚠️", "interrupted": "⏹️", "tolerated": "⚠️", "skipped": "⏭️"}


def _cell(text: object) -> str:
    """Table-cell text: one line, pipes escaped."""
    return redact(" ".join(str(text or "").split())).replace("|", "\\|")


def markdown(result) -> str:
    """The run as a Markdown section."""
    lines = [f"### {_ICON.get(result.outcome, '')} {_cell(result.playbook)}: {result.outcome}", "",
             f"{_cell(result.summary)}", "",
             f"Site `{_cell(result.site)}` at {_cell(result.url)}" + (f", {_cell(result.browser)}" if result.browser else "") + ".", ""]
    if result.steps:
        lines += ["| step | outcome | attempts | detail |", "| --- | --- | --- | --- |"]
        for step in result.steps:
            attempts = "<br>".join(f"{a.number}: {a.outcome} after {a.waited_s:g} s" for a in step.attempts)
            lines.append(f"| {step.index} {_cell(step.label)} | {_ICON.get(step.outcome, '')} {step.outcome} | {attempts} | {_cell(step.detail)} |")
        lines.append("")
    if result.verdict:
        verdict = result.verdict
        lines += [f"**Verdict:** `{_cell(verdict.get('category'))}`: {_cell(verdict.get('summary'))}", ""]
    if result.error:
        lines += [f"**Error:** {_cell(result.error.splitlines()[0])}", ""]
    if result.artifacts:
        lines += ["Artifacts: " + ", ".join(f"`{_cell(Path(a).name)}`" for a in result.artifacts), ""]
    return "\n".join(lines) + "\n"


class SummaryReporter:
    """Writes the Markdown summary when the run ends; `error` says why it could not."""

    def __init__(self, path: Path, append: bool = False):
        self.path, self.append = Path(path), append
        self.error: EnvironmentProblem | None = None

    def __call__(self, event: ev.Event) -> None:
        if not isinstance(event, ev.RunEnded) or event.result is None:
            return
        data = markdown(event.result).encode("utf-8")
        what = "the job summary ($GITHUB_STEP_SUMMARY)" if self.append else "the --summary file"
        try:
            if self.append:
                _append(self.path, data, what)
            else:
                write_report(self.path, data, what, mode=0o644)
        except EnvironmentProblem as exc:
            self.error = exc


def _append(path: Path, data: bytes, what: str) -> None:
    try:
        with open(path, "ab") as out:
            out.write(data)
    except OSError as exc:
        raise EnvironmentProblem(f"{what} {path} was not written: {exc.strerror or exc}.",
                                 hint="Check the variable points at a file you can write to.") from None


def summary_reporter(path: Path | None) -> SummaryReporter | None:
    """The reporter for --summary FILE, else for $GITHUB_STEP_SUMMARY when set, else None."""
    if path is not None:
        return SummaryReporter(path)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    return SummaryReporter(Path(step_summary), append=True) if step_summary else None
