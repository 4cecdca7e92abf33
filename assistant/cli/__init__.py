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


# name -> (module, attribute, short help). The short help is what `assistant --help` lists
# without importing the module; tests/test_cli.py checks it matches the command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "run", "Run a playbook against a web chat."),
    "demo": ("run", "demo", 'Watch the tool meet "Server busy" on the built-in simulated chat and back off.'),
    "simulate": ("run", "simulate", "Serve the simulated web chat until Ctrl-C (which ends it with exit 0)."),
    "doctor": ("doctor", "doctor", "Say which browser the tool will use, its version, and how to get one if none."),
    "probe": ("probe", "probe", "Look at a chat from outside the browser: status page, API, DNS, connection, streams, windows."),
    "extensions": ("browser", "extensions", "List the extensions of a Chrome/Chromium profile: id, name, version, enabled."),
    "bisect": ("browser", "bisect", "Find the extension(s) that break the chat, by launching with halves of them."),
    "login": ("browser", "login", "Open a browser window, let you sign in, save that session for playbooks."),
    "restore": ("browser", "restore", "Bring a profile back, byte for byte, from a backup made before an --in-place run."),
    "diagnose": ("diagnose", "diagnose", "Why is the chat busy for you, and what do you do now?"),
    "selftest": ("diagnose", "selftest", "Stage every verdict on the simulator, diagnose each, and compare (the fault matrix)."),
    "guide": ("diagnose", "guide", "A guided diagnosis: a few questions, the checks with live progress, a verdict and what to do."),
    "steps": ("docs", "steps", "List every playbook step: what it does, its parameters and an example."),
    "schema": ("docs", "schema", "Print the JSON Schema of playbooks (or, with --site, of site profiles)."),
    "validate": ("validate", "validate", "Check playbooks without starting a browser (exit 0 all valid, 2 otherwise)."),
    "probe-site": ("site", "probe_site", "Draft a site profile for the chat at URL by using it once."),
    "watch": ("watch", "watch", "Watch chats over hours and days: states, incidents, a circuit breaker, alerts."),
    "history": ("watch", "history", "The watch's history: incidents, and uptime over 24 h, 7 d and 30 d."),
}


class Group(click.Group):
    """Maps every AssistantError to its exit code with a one-paragraph message, no traceback.

    Commands load lazily: each family lives in its own module (assistant/cli/<module>.py),
    imported only when its command runs, so `assistant run` does not pay for `diagnose`.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            module, attr, _ = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(f"assistant.cli.{module}"), attr), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table, so `--help` imports no command module."""
        from click.utils import make_default_short_help

        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in COMMANDS:
                rows.append((name, make_default_short_help(COMMANDS[name][2], limit)))
            elif not self.commands[name].hidden:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="assistant")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
