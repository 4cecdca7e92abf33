"""The command line: parse arguments, call the core, map errors to exit codes.

Nothing heavy is imported at module level: `assistant --help` must not start Playwright.
"""

from __future__ import annotations

import sys

import click

from assistant import __version__
from assistant.errors import (
    AssistantError,
    interrupted_by,
    interrupted_exit_code,
    stop_signals_as_interrupt,
)

EXIT_CODES_HELP = """Exit codes: 0 passed, 1 a check failed, 2 invalid playbook or arguments,
3 environment (no browser, port taken, a report that cannot be written), 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP)."""


class Group(click.Group):
    """Maps every AssistantError to its exit code with a one-paragraph message, no traceback."""

    def invoke(self, ctx: click.Context):
        from assistant.report.redact import redact

        try:
            with stop_signals_as_interrupt():  # SIGTERM and SIGHUP end like Ctrl-C
                return super().invoke(ctx)
        except AssistantError as exc:
            click.echo(redact(f"error ({exc.label}): {exc}"), err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo(f"interrupted by {interrupted_by()}: the browser was closed and temporary profiles removed.", err=True)
            ctx.exit(int(interrupted_exit_code()))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="assistant")
def cli() -> None:
    """Troubleshoot AI web chats that answer "Server busy, please try again later."

    Runs YAML playbooks in a real Chromium against a web chat (DeepSeek's, any other by
    site profile, or the built-in simulator), detects busy replies, retries on a schedule
    and reports what happened.
    """


def _add_commands() -> None:
    """Each family of commands lives in its own module; the group adds them here."""
    from assistant.cli import browser, diagnose, docs, doctor, probe, run, site

    for command in (
        run.run, run.demo, run.simulate, doctor.doctor, probe.probe,
        browser.extensions, browser.bisect, browser.login, browser.restore,
        diagnose.diagnose, diagnose.selftest, diagnose.guide,
        docs.steps, docs.schema, site.probe_site,
    ):
        cli.add_command(command)


_add_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="assistant")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
