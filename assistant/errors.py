"""One root exception, a handful of subclasses, each with its exit code.

Messages are one paragraph: where, what, and what to do next. The CLI prints them
without a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of every `assistant` command."""

    OK = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3
    INTERRUPTED = 130


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
