"""The console narrator: steps, attempts, waits with a countdown, and the outcome.

Writes to stderr through rich, so stdout stays free for machine output. Respects
NO_COLOR and a non-terminal output (no colour, no live countdown, one line per wait).
"""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.text import Text

from assistant import events as ev
from assistant.report.redact import redact

OUTCOME_STYLE = {
    "answered": "green",
    "ok": "green",
    "passed": "bold green",
    "busy": "yellow",
    "rate_limited": "yellow",
    "timeout": "red",
    "error": "red",
    "failed": "bold red",
    "skipped": "dim",
    "tolerated": "yellow",
    "interrupted": "bold yellow",
    "degraded": "yellow",
    "queued": "yellow",
    "maintenance": "yellow",
    "down": "red",
    "unknown": "dim",
}


class ConsoleReporter:
    """Narrates a run for a person."""

    def __init__(self, console: Console | None = None, *, verbose: bool = False):
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.verbose = verbose
        self._live: Live | None = None
        self._attempts: dict[str, int] = {}

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler:
            handler(event)

    def _print(self, *parts) -> None:
        self._stop_live()
        self.console.print(*(_redacted(p) for p in parts))

    def _on_RunStarted(self, e: ev.RunStarted) -> None:
        self._print(Text.assemble(("assistant", "bold"), f"  {e.playbook}  ·  site {e.site} ({e.url})  ·  {e.browser}"))

    def _on_StepStarted(self, e: ev.StepStarted) -> None:
        indent = "  " * e.index.count(".")
        self._print(Text.assemble(f"{indent}{e.index:>3} ", (e.label, "bold")))

    def _on_AttemptStarted(self, e: ev.AttemptStarted) -> None:
        self._attempts[e.index] = e.of

    def _on_AttemptEnded(self, e: ev.AttemptEnded) -> None:
        of = self._attempts.get(e.index, 1)
        indent = "  " * (e.index.count(".") + 1)
        if of == 1 and not self.verbose:
            return  # the step's own line says it
        counter = f"attempt {e.number} of {of}: " if of > 1 else ""
        summary = e.signal.get("summary", "")
        recovery = f"  [{e.signal['recovery']}]" if e.signal.get("recovery") else ""
        self._print(Text.assemble(f"{indent}    {counter}", (e.outcome, OUTCOME_STYLE.get(e.outcome, "")), f"  {summary}  ({e.duration_s:.1f} s){recovery}"))

    def _on_WaitStarted(self, e: ev.WaitStarted) -> None:
        indent = "  " * (e.index.count(".") + 1)
        attempt = f", attempt {e.next_attempt} of {e.of}" if e.next_attempt else ""
        self._wait_line = f"{indent}    waiting {{}} ({e.reason}{attempt})"
        if self.console.is_terminal:  # a live countdown, replaced by a plain line when it ends
            self._waited = f"{indent}    waited {_duration(e.seconds)} ({e.reason}{attempt})"
            self._live = Live(self._countdown(e.seconds), console=self.console, transient=True, auto_refresh=False)
            self._live.start()
        else:
            self._print(self._wait_line.format(_duration(e.seconds)))

    def _countdown(self, remaining: float) -> Text:
        return Text(self._wait_line.format(_duration(remaining)), style="cyan")

    def _on_WaitTick(self, e: ev.WaitTick) -> None:
        if self._live is not None:
            self._live.update(self._countdown(e.remaining), refresh=True)

    def _on_StepEnded(self, e: ev.StepEnded) -> None:
        indent = "  " * (e.index.count(".") + 1)
        style = OUTCOME_STYLE.get(e.outcome, "")
        self._print(Text.assemble(f"{indent}  ", (e.outcome, style), f"  {e.detail}" if e.detail else "", f"  [{e.duration_s:.1f} s]", style="" if e.outcome != "skipped" else "dim"))

    def _on_ProbeFinding(self, e: ev.ProbeFinding) -> None:
        f = e.finding
        self._print(Text.assemble("  probe ", (f"{f.probe}", "bold"), f" {f.subject}: ", (f.outcome, OUTCOME_STYLE.get(f.outcome, "")), f"  {f.summary}"))

    def _on_VerdictReached(self, e: ev.VerdictReached) -> None:
        from rich.panel import Panel

        v = e.verdict
        good = v.category == "healthy"
        body = Text()
        body.append(f"{v.summary}\n", style="bold")
        for item in v.evidence:
            body.append(f"\n  - {item.source}: {item.observation}")
        if v.remedies:
            body.append("\n\nWhat to do:", style="bold")
            for rank, remedy in enumerate(v.remedies, 1):
                body.append(f"\n  {rank}. {remedy}")
        for note in v.notes:
            body.append(f"\n\nNote: {note}", style="yellow")
        if v.tried:
            body.append(f"\n\nTried: {'; '.join(v.tried)}", style="dim")
        title = f"verdict: {v.category}"
        self._stop_live()
        self.console.print(Panel(body, title=title, title_align="left", border_style="green" if good else "yellow"), soft_wrap=False)

    def _on_Note(self, e: ev.Note) -> None:
        self._print(Text(e.message, style="yellow" if e.level == "warning" else ""))

    def _on_RunEnded(self, e: ev.RunEnded) -> None:
        if e.outcome == "error":
            return  # the command line prints the error paragraph itself
        word = e.outcome.upper()
        self._print(Text.assemble((word, OUTCOME_STYLE.get(e.outcome, "bold")), f"  {e.summary}  ({e.duration_s:.1f} s)"))
        for note in getattr(e.result, "notes", ()):
            self._print(Text(f"  note: {note}", style="yellow"))
        for path in e.artifacts:
            self._print(Text(f"  artifact: {path}", style="dim"))

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            self.console.print(Text(self._waited, style="cyan"))


def _redacted(part):
    """A URL's password never reaches the console (styles are dropped from the rare line that had one)."""
    if isinstance(part, Text) and redact(part.plain) != part.plain:
        return Text(redact(part.plain), style=part.style)
    return redact(part) if isinstance(part, str) else part


def _duration(seconds: float) -> str:
    """5 s, 90 s, 12 min, 3 h 20 min."""
    if seconds < 120:
        return f"{round(seconds, 1):g} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
