"""One root exception, a handful of subclasses, each with its exit code.

Messages are one paragraph: where, what, and what to do next. The CLI prints them
without a traceback.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of every `assistant` command."""

    OK = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3
    INTERRUPTED = 130
    HANGUP = 129  # SIGHUP: the terminal went away
    TERMINATED = 143  # SIGTERM: `timeout`, `docker stop`, a CI runner's cancel


class AssistantError(Exception):
    """Root of every error the tool reports to a person."""

    exit_code = ExitCode.CHECK_FAILED
    label = "error"

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class PlaybookError(AssistantError):
    """The playbook, site profile or arguments are invalid (exit 2)."""

    exit_code = ExitCode.BAD_INPUT
    label = "invalid playbook"


class UsageError(AssistantError):
    """A command-line argument is invalid (exit 2)."""

    exit_code = ExitCode.BAD_INPUT
    label = "invalid argument"


class EnvironmentProblem(AssistantError):
    """Something outside the playbook is missing or taken: no browser, port in use (exit 3)."""

    exit_code = ExitCode.ENVIRONMENT
    label = "environment"


class CheckFailed(AssistantError):
    """A check in the playbook failed, e.g. still busy when the schedule ran out (exit 1)."""

    exit_code = ExitCode.CHECK_FAILED
    label = "check failed"


class Interrupted(AssistantError):
    """The person pressed Ctrl-C (exit 130)."""

    exit_code = ExitCode.INTERRUPTED
    label = "interrupted"


class StepFailed(Exception):
    """Raised by a step's code: the step did not do what it should (not shown as a traceback)."""

    def __init__(self, detail: str, outcome: str = "error"):
        super().__init__(detail)
        self.detail = detail
        self.outcome = outcome


class BadSelector(Exception):
    """A selector from the playbook or site profile is not valid; the runner adds the position."""

    def __init__(self, selector: str, reason: str):
        super().__init__(f"{selector!r} is not a valid selector ({reason})")
        self.selector = selector
        self.reason = reason


_STOP_SIGNALS = {"SIGTERM": ExitCode.TERMINATED, "SIGHUP": ExitCode.HANGUP}
STOP_SIGNALS = tuple(_STOP_SIGNALS)
_stopped_by: list[str] = []  # the signal that stopped this process, when not Ctrl-C
_began: list[bool] = []  # whether a command has taken the signals over (for assistant.__main__)


def stopped_by(name: str) -> None:
    """Record that the `name` signal (SIGTERM or SIGHUP) stops this process."""
    _stopped_by.append(name)


def command_began() -> bool:
    """Whether a command has run with stop_signals_as_interrupt (not only loaded and parsed)."""
    return bool(_began)


def interrupted_by() -> str:
    """What stopped the run, in words for its report: Ctrl-C or the signal's name."""
    return f"the {_stopped_by[-1]} signal" if _stopped_by else "the person (Ctrl-C)"


def interrupted_exit_code() -> ExitCode:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return _STOP_SIGNALS[_stopped_by[-1]] if _stopped_by else ExitCode.INTERRUPTED


@contextmanager
def stop_signals_as_interrupt():
    """SIGTERM and SIGHUP take Ctrl-C's path: the same clean-up, every report written.

    The handler calls whatever handles SIGINT at that moment (asyncio's, inside a run,
    which cancels the main task), so nothing is cut off half-way.
    """
    import threading

    _stopped_by.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _began.append(True)
    saved = {}
    if getattr(signal.getsignal(signal.SIGINT), "before_command", False):  # the entry point's: Ctrl-C is
        saved["SIGINT"] = signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt again
    for name in _STOP_SIGNALS:
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN:  # nohup's stays
            saved[name] = signal.signal(getattr(signal, name), _forward_to_sigint)
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


@contextmanager
def stop_signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP for a moment that must not be cut in two (making the
    report writers: a stop then would leave no report); one that arrives meanwhile is
    delivered as the block ends, where the caller handles it."""
    held = {getattr(signal, n) for n in ("SIGINT", *_STOP_SIGNALS) if hasattr(signal, n)}
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _forward_to_sigint(signum, frame) -> None:
    _stopped_by.append(signal.Signals(signum).name)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt
