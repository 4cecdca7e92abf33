"""The console narrator: steps, attempts, waits with a countdown, and the outcome.

Writes to stderr, so stdout stays free for machine output. Respects NO_COLOR and a
non-terminal output (no colour, no live countdown, one line per wait). It styles lines
itself with a few ANSI codes (rich costs a run ~20 ms to import); `.console`, a rich
Console on the same stream, is there for commands that print tables.
"""

from __future__ import annotations

import os
import re
import sys
import time
import unicodedata

from assistant import events as ev
from assistant.report.redact import redact

OUTCOME_STYLE = {
    "answered": "green",
    "ok": "green",
    "passed": "bold green",
    "healthy": "green",
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
SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


class ConsoleReporter:
    """Narrates a run for a person."""

    def __init__(self, console=None, *, verbose: bool = False, hold_probes: bool = False):
        self._rich = console  # a rich Console given by the caller: every line goes through it
        self.verbose = verbose
        # A run's probes start before its browser: their lines wait for the run's header.
        self._held: list | None = [] if hold_probes else None
        self._live = False  # a countdown line is on the terminal, to be replaced
        self._attempts: dict[str, int] = {}
        self._started = time.monotonic()  # the real time a run took, when the clock is scaled

    @property
    def console(self):
        """A rich Console on stderr (imported on first use), for tables and panels of callers."""
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._rich

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler:
            handler(event)

    # -- output ------------------------------------------------------------------------

    @property
    def is_terminal(self) -> bool:
        if self._rich is not None:
            return self._rich.is_terminal
        if os.environ.get("FORCE_COLOR"):
            return True
        stream = sys.stderr
        return hasattr(stream, "isatty") and stream.isatty()

    def _colour(self) -> bool:
        return self.is_terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def _render(self, segments) -> str:
        """Segments (text or (text, style)) as one line; a line holding a password loses its styles."""
        parts = [(s, "") if isinstance(s, str) else s for s in segments]
        plain = "".join(text for text, _ in parts)
        if redact(plain) != plain or not self._colour():
            return redact(plain)
        return "".join(_styled(text, style) for text, style in parts)

    def _write(self, text: str) -> None:
        if self._rich is not None:  # through the caller's console, which knows its own file and width
            from rich.text import Text

            self._rich.print(Text.from_ansi(text) if "\x1b" in text else text, highlight=False)
            return
        stream = sys.stderr
        stream.write(text + "\n")
        stream.flush()

    def _print(self, *segments) -> None:
        self._stop_live()
        self._write(self._render(segments))

    # -- events ------------------------------------------------------------------------

    def _on_RunStarted(self, e: ev.RunStarted) -> None:
        self._print(("assistant", "bold"), f"  {e.playbook}  ·  site {e.site} ({e.url})  ·  {e.browser}")
        self._release()

    def _release(self) -> None:
        held, self._held = self._held or [], None
        for event in held:
            self._on_ProbeFinding(event)

    def _on_StepStarted(self, e: ev.StepStarted) -> None:
        indent = "  " * e.index.count(".")
        self._print(f"{indent}{e.index:>3} ", (e.label, "bold"))

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
        self._print(f"{indent}    {counter}", (e.outcome, OUTCOME_STYLE.get(e.outcome, "")), f"  {summary}  ({e.duration_s:.1f} s){recovery}")

    def _on_WaitStarted(self, e: ev.WaitStarted) -> None:
        indent = "  " * (e.index.count(".") + 1)
        attempt = f", attempt {e.next_attempt} of {e.of}" if e.next_attempt else ""
        self._wait_line = f"{indent}    waiting {{}} ({e.reason}{attempt})"
        if self.is_terminal:  # a live countdown, replaced by a plain line when it ends
            self._stop_live()
            self._waited = f"{indent}    waited {{}} ({e.reason}{attempt})"  # {} becomes how long
            self._wait_total = self._wait_left = e.seconds
            self._live = True
            self._countdown(e.seconds)
        else:
            self._print(self._wait_line.format(_duration(e.seconds)))

    def _countdown(self, remaining: float) -> None:
        line = self._render([(self._wait_line.format(_duration(remaining)), "cyan")])
        if self._rich is not None:
            return  # a caller's console gets the plain "waited" line only
        sys.stderr.write("\r" + line + "\x1b[K")
        sys.stderr.flush()

    def _on_WaitTick(self, e: ev.WaitTick) -> None:
        self._wait_left = e.remaining  # a stop mid-wait sends one last tick: what is left
        if self._live:
            self._countdown(e.remaining)

    def _on_StepEnded(self, e: ev.StepEnded) -> None:
        indent = "  " * (e.index.count(".") + 1)
        style = OUTCOME_STYLE.get(e.outcome, "")
        rest = "dim" if e.outcome == "skipped" else ""
        self._print(f"{indent}  ", (e.outcome, style), (f"  {e.detail}" if e.detail else "", rest), (f"  [{e.duration_s:.1f} s]", rest))

    def _on_ProbeFinding(self, e: ev.ProbeFinding) -> None:
        if self._held is not None:
            self._held.append(e)
            return
        f = e.finding
        self._print("  probe ", (f"{f.probe}", "bold"), f" {f.subject}: ", (f.outcome, OUTCOME_STYLE.get(f.outcome, "")), f"  {f.summary}")

    def _on_VerdictReached(self, e: ev.VerdictReached) -> None:
        self._stop_live()
        v = e.verdict
        border = "green" if v.category == "healthy" else "yellow"
        for line in verdict_panel(v, self._width()):
            self._write(self._render_panel_line(line, border))

    def _render_panel_line(self, line, border: str) -> str:
        """A panel line is (left border, [(text, style)], right border)."""
        left, body, right = line
        return self._render([(left, border), *body, (right, border)])

    def _width(self) -> int:
        if self._rich is not None:
            return self._rich.width
        return terminal_width()

    def _on_Note(self, e: ev.Note) -> None:
        self._print((e.message, "yellow" if e.level == "warning" else ""))

    def _on_RunEnded(self, e: ev.RunEnded) -> None:
        self._release()  # a run that never started its browser still shows its probes
        if e.outcome == "error":
            return  # the command line prints the error paragraph itself
        word = e.outcome.upper()
        self._print((word, OUTCOME_STYLE.get(e.outcome, "bold")), f"  {e.summary}  ({_took(e.duration_s, time.monotonic() - self._started)})")
        for note in getattr(e.result, "notes", ()):
            self._print((f"  note: {note}", "yellow"))
        for path in e.artifacts:
            self._print((f"  artifact: {path}", "dim"))

    def _stop_live(self) -> None:
        if self._live:
            self._live = False
            if self._rich is None:
                sys.stderr.write("\r\x1b[K")
            total, left = self._wait_total, self._wait_left
            waited = _duration(total) if left <= 0 else f"{_duration(total - left)} of {_duration(total)}"
            self._write(self._render([(self._waited.replace("{}", waited, 1), "cyan")]))


def _styled(text: str, style: str) -> str:
    codes = ";".join(SGR[word] for word in style.split() if word in SGR)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes and text else text


def terminal_width() -> int:
    """COLUMNS, else the width of the terminal on stderr, else 80 (what a pipe gets)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    except ValueError:
        pass
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _took(clock_s: float, real_s: float) -> str:
    """The run's time; with a scaled clock (--time-scale) the real time too."""
    if abs(clock_s - real_s) > 0.5 and abs(clock_s - real_s) > 0.2 * max(clock_s, real_s):
        return f"{clock_s:.1f} s on the run's clock, {real_s:.1f} s real time"
    return f"{clock_s:.1f} s"


# -- the verdict panel ---------------------------------------------------------------------

_DESCRIBED = re.compile(
    r"^(?P<pre>.*?)(?P<outcome>busy|rate_limited|error|timeout|unreachable) at "
    r"(?:turn (?P<turn>\d+)|opening the chat): (?P<text>.+)$")
_AFTER = re.compile(r"\bafter (\d+(?:\.\d+)?) s\b")


def grouped_evidence(evidence) -> list[str]:
    """Evidence lines, consecutive repeats of one failure folded into one:
    `reproduce, back-off: busy x4 at turn 3 (after waits of 5, 10, 30 s): <text>`."""
    lines: list[str] = []
    group: list[tuple[str, re.Match]] = []

    def flush() -> None:
        if not group:
            return
        if len(group) == 1:
            source, match = group[0]
            lines.append(f"{source}: {match.string}")
        else:
            sources = ", ".join(dict.fromkeys(source for source, _ in group))
            first = group[0][1]
            turns = sorted({int(m["turn"]) for _, m in group if m["turn"]})
            where = ("opening the chat" if not turns else f"turn {turns[0]}" if len(turns) == 1
                     else f"turns {turns[0]}-{turns[-1]}")
            waits = [m.group(1) for _, match in group if (m := _AFTER.search(match["pre"]))]
            after = f" (after waits of {', '.join(waits)} s)" if waits else ""
            lines.append(f"{sources}: {first['outcome']} x{len(group)} at {where}{after}: {first['text']}")
        group.clear()

    for item in evidence:
        match = _DESCRIBED.match(item.observation)
        if match and group and (match["outcome"], match["text"]) == (group[0][1]["outcome"], group[0][1]["text"]):
            group.append((item.source, match))
            continue
        flush()
        if match:
            group.append((item.source, match))
        else:
            lines.append(f"{item.source}: {item.observation}")
    flush()
    return lines


def verdict_panel(v, width: int) -> list[tuple[str, list, str]]:
    """The verdict in a box `width` columns wide; wrapped lines hang under their bullet."""
    width = max(width, 40)
    inner = width - 4
    rows: list[list] = []  # each row: [(text, style)]

    def para(text: str, first: str, rest: str, style: str = "") -> None:
        rows.extend([(line, style)] for line in wrap(text, inner, first, rest))

    para(v.summary, "", "", "bold")
    if v.evidence:
        rows.append([])
        for line in grouped_evidence(v.evidence):
            para(line, "  - ", "    ")
    if v.remedies:
        rows.append([])
        rows.append([("What to do:", "bold")])
        for rank, remedy in enumerate(v.remedies, 1):
            para(remedy, f"  {rank}. ", " " * len(f"  {rank}. "))
    for note in v.notes:
        rows.append([])
        para(f"Note: {note}", "", "      ", "yellow")
    if v.tried:
        rows.append([])
        para(f"Tried: {'; '.join(v.tried)}", "", "       ", "dim")
    title = f" verdict: {v.category} "
    top = "╭─" + title + "─" * max(0, width - 3 - cells(title)) + "╮"
    lines = [(top, [], "")]
    for row in rows:
        used = sum(cells(text) for text, _ in row)
        lines.append(("│ ", [*row, (" " * max(0, inner - used), "")], " │"))
    lines.append(("╰" + "─" * (width - 2) + "╯", [], ""))
    return lines


def cells(text: str) -> int:
    """Terminal columns `text` takes (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Wrap at spaces to `width` columns: the first line starts with `first`, the others
    with `rest` (a hanging indent); a word longer than a line (CJK text) is cut by columns."""
    lines: list[str] = []
    line, prefix = first, first
    for word in text.split():
        room = width - cells(line)
        gap = 0 if line == prefix else 1
        if cells(word) + gap <= room:
            line += (" " if gap else "") + word
            continue
        if line != prefix:
            lines.append(line)
            line = prefix = rest
        while cells(word) > width - cells(line):  # cut a word longer than the line
            room = width - cells(line)
            cut, used = 0, 0
            while cut < len(word) and used + cells(word[cut]) <= room:
                used += cells(word[cut])
                cut += 1
            if cut == 0:
                break
            lines.append(line + word[:cut])
            word, line = word[cut:], rest
            prefix = rest
        line += word
    lines.append(line)
    return [ln.rstrip() for ln in lines]


def _duration(seconds: float) -> str:
    """5 s, 90 s, 12 min, 3 h 20 min."""
    if seconds < 120:
        return f"{round(seconds, 1):g} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
