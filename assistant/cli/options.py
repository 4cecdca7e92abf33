"""Options and argument helpers shared by the command families."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.errors import UsageError


class TimeScale(click.ParamType):
    """--time-scale: a finite number from 0 to 1000 (inf, nan and negatives are refused)."""

    name = "F"
    limit = 1000.0

    def convert(self, value, param, ctx):
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; 1 is real time, 0.01 a hundred times faster.", param, ctx)
        if not math.isfinite(number) or not 0 <= number <= self.limit:
            self.fail(f"{value} is outside 0-{self.limit:g} (the limit); 1 is real time, 0.01 a hundred times faster.", param, ctx)
        return number


class Url(click.ParamType):
    """--url: an http(s) URL with a valid host and a port in 1-65535."""

    name = "URL"

    def convert(self, value, param, ctx):
        from assistant.playbook.validate import FORMATS

        try:
            return FORMATS["url"](value)
        except ValueError as exc:
            self.fail(" ".join(exc.args), param, ctx)


TIME_SCALE, URL = TimeScale(), Url()


def browser_options(fn):
    """Options shared by every command that runs a browser."""
    options = [
        click.option("--headed", is_flag=True, help="Show the browser window (default: headless)."),
        click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable (or set ASSISTANT_BROWSER)."),
        click.option("--time-scale", type=TIME_SCALE, default=None, metavar="F", envvar="ASSISTANT_TIME_SCALE",
                     help="Multiply every real wait by F (0.01 runs a 30 s backoff in 0.3 s); reports keep nominal seconds."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Write the run's report as JSON to FILE."),
        click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Folder for screenshots (failure screenshots included)."),
        click.option("-q", "--quiet", is_flag=True, help="Print only the final line."),
        click.option("--connect", metavar="WS_ENDPOINT", help="Use a remote Playwright browser server (`playwright run-server`) instead of a local browser."),
        click.option("--cdp", metavar="URL", help="Attach to an existing Chromium over CDP (started with --remote-debugging-port)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def report_options(fn):
    """Report files of a playbook run (bisect and the others write no RunResult, so not in browser_options)."""
    options = [
        click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Write the run as JUnit XML to FILE (a testcase per step, every attempt in it)."),
        click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Write a self-contained DIR/index.html: steps, attempts on a timeline, screenshots."),
        click.option("--trace", type=click.Choice(["off", "on", "retain-on-failure"]), default="off", show_default=True,
                     help="Record a Playwright trace into --artifacts (open it with `playwright show-trace`)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def ci_options(fn):
    """pytest-playwright's option names for a playbook run, remote-browser headers, the job summary."""
    options = [
        click.option("--tracing", type=click.Choice(["off", "on", "retain-on-failure"]), default=None,
                     help="The same as --trace (pytest-playwright's name)."),
        click.option("--output", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="The same as --artifacts (pytest-playwright's name)."),
        click.option("--video", type=click.Choice(["off", "on", "retain-on-failure"]), default="off", show_default=True,
                     help="Record a video into the artifacts folder (needs `python -m playwright install ffmpeg`)."),
        click.option("--screenshot", type=click.Choice(["off", "on", "only-on-failure"]), default="only-on-failure",
                     show_default=True, help="Screenshots of failed steps, or also one at the end (on), or none."),
        click.option("--browser-channel", metavar="CHANNEL", help="A branded browser Playwright finds itself: chrome, msedge, ..."),
        click.option("--connect-header", "connect_headers", multiple=True, metavar="K=V",
                     help="An HTTP header for --connect (repeatable), e.g. a farm's token."),
        click.option("--cdp-header", "cdp_headers", multiple=True, metavar="K=V", help="An HTTP header for --cdp (repeatable)."),
        click.option("--expose-network", metavar="HOSTS",
                     help="With --connect: let the remote browser reach these hosts through this machine, e.g. '<loopback>'."),
        click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Write a Markdown job summary to FILE (default: append to $GITHUB_STEP_SUMMARY when set)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def parse_headers(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    """`K=V` pairs of --connect-header / --cdp-header."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} takes NAME=VALUE, e.g. {option} Authorization='Bearer TOKEN'; one given has no '=' "
                             "or no name (its value is not shown: it may be a secret).")
        out[key.strip()] = value
    return out


def remote(connect: str | None, cdp: str | None) -> str | None:
    if connect and cdp:
        raise UsageError("Give --connect or --cdp, not both: they are two ways to reach one remote browser.")
    return connect or (f"cdp:{cdp}" if cdp else None)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """`K=V` pairs from --var."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not of the form NAME=VALUE, e.g. --var prompt='Hello'.")
        out[key.strip()] = value
    return out


def site_argument(ref: str, option: str = "SITE", base_dir: Path | None = None) -> None:
    """A site named on the command line that does not exist is a bad argument (exit 2,
    "invalid argument"), not a bad playbook: say which argument, and the sites there are."""
    from assistant.playbook.site import SiteNotFound, resolve

    try:
        resolve(ref, base_dir)
    except SiteNotFound as exc:
        raise UsageError(f"{option} {ref!r}: {exc.message}", hint=exc.hint) from None
