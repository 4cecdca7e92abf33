"""`assistant diagnose` and `assistant selftest`: added to the group by `assistant.cli`."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.options import TIME_SCALE, URL, site_argument
from assistant.errors import ExitCode, UsageError


def _routes(pairs: tuple[str, ...]):
    from assistant.playbook.model import Route

    routes = []
    for pair in pairs:
        name, sep, proxy = pair.partition("=")
        if not sep or not name or not proxy:
            raise UsageError(f"--route {pair!r} is not of the form NAME=PROXY_URL, e.g. --route tokyo=socks5://127.0.0.1:1080.")
        routes.append(Route(name, proxy))
    return tuple(routes)


@click.command()
@click.argument("site", default="deepseek", metavar="[SITE]")
@click.option("--url", type=URL, metavar="URL", help="Override the site's base URL (status page and API follow on the same host).")
@click.option("--profile", type=click.Path(file_okay=False, path_type=Path), help="Your Chrome/Chromium profile folder (a copy is used).")
@click.option("--extension", "extensions", multiple=True, type=click.Path(file_okay=False, path_type=Path), help="An unpacked extension you run (repeatable).")
@click.option("--proxy", metavar="URL", help="Your usual network path, when it goes through a proxy.")
@click.option("--route", "routes", multiple=True, metavar="NAME=PROXY", help="Another path to compare, e.g. a VPN region (repeatable).")
@click.option("--prompt", default="Reply with the single word: pong", show_default=True, help="The message of the check.")
@click.option("--contains", default="pong", show_default=True, help="What a working reply contains.")
@click.option("--turns", default=1, show_default=True, type=click.IntRange(1, 10), help="Messages in one conversation (busy often starts after a few).")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True, metavar="SECONDS", help="How long one reply may take.")
@click.option("--time-scale", type=TIME_SCALE, default=1.0, envvar="ASSISTANT_TIME_SCALE", metavar="F", help="Multiply every backoff wait by F.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write the verdict as JSON.")
@click.option("--headed", is_flag=True, help="Show the browser window.")
@click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable.")
@click.pass_context
def diagnose(ctx, site, url, profile, extensions, proxy, routes, prompt, contains, turns, timeout_s, time_scale, json_path, headed, browser_path) -> None:
    """Why is the chat busy for you, and what do you do now?

    Reproduces the failure in your setup, checks the status page, the API, DNS and
    streams alongside, backs off on the 5/10/30 s schedule, then changes one thing at a
    time (new chat, clean profile and your extensions, cookies, cache, routes) until
    one flips the outcome. Ends with a verdict, its evidence and what to do.
    Exit 0 when the chat is healthy, 1 otherwise.
    """
    from assistant.diagnosis.model import Setup
    from assistant.diagnosis.run import diagnose as run_diagnosis
    from assistant.experiments.trial import Check
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase
    from assistant.report.console import ConsoleReporter

    if profile is not None and not profile.is_dir():  # before anything starts or is printed
        raise UsageError(f"--profile {profile}: {'no such folder' if not profile.exists() else 'not a folder'}. "
                         "Give your Chrome/Chromium profile folder (chrome://version shows it as 'Profile Path').")
    if profile is not None:
        from assistant.browser.profiles import user_data_dir_of

        user_data_dir_of(profile)  # a folder that is no profile: said before a browser starts
    site_argument(site)
    profile_site = load_site(site)
    profile_site = rebase(profile_site, url) if url else profile_site
    setup = Setup(profile=profile, extensions=tuple(extensions), proxy=proxy, routes=_routes(routes) + profile_site.routes)
    check = Check(prompt=prompt, contains=contains, timeout=timeout_s)
    verdict = run_diagnosis(profile_site, setup, check, turns=turns, time_scale=time_scale, headless=not headed,
                            browser_path=browser_path, listeners=[ConsoleReporter()], json_path=json_path)
    ctx.exit(int(ExitCode.OK if verdict.category == "healthy" else ExitCode.CHECK_FAILED))


@click.command()
@click.option("--only", metavar="NAMES", help="Comma-separated verdict names or scenarios to stage (default: all).")
@click.option("--time-scale", type=TIME_SCALE, default=0.01, show_default=True, metavar="F", help="Multiply every backoff wait by F.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write the table as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Narrate each diagnosis too.")
@click.option("--headed", is_flag=True, help="Show the browser window.")
@click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable.")
@click.pass_context
def selftest(ctx, only, time_scale, json_path, verbose, headed, browser_path) -> None:
    """Stage every verdict on the simulator, diagnose each, and compare (the fault matrix).

    Prints scenario, expected, got and time per row; exit 0 only when every row matches.
    """
    from rich.table import Table

    from assistant.diagnosis.run import selftest as run_selftest
    from assistant.diagnosis.selftest import ROWS
    from assistant.report.console import ConsoleReporter

    console = ConsoleReporter()
    names = [n.strip() for n in only.split(",")] if only else None
    if names and not any(r.expected in names or r.name in names for r in ROWS):  # before any browser starts
        raise UsageError(f"--only {only!r} names no row of the matrix; rows: {', '.join(r.expected for r in ROWS)}.")

    def on_row(r) -> None:
        mark = "[green]match[/]" if r.matches else "[red]MISMATCH[/]"
        console.console.print(f"{mark}  {r.row.name}: expected {r.row.expected}, got {r.got} ({r.seconds:.1f} s){'  ' + r.error if r.error else ''}")

    results = run_selftest(names, time_scale=time_scale, headless=not headed, browser_path=browser_path,
                           listeners=[console] if verbose else [], on_row=on_row, json_path=json_path)
    table = Table("scenario", "expected", "got", "time")
    for r in results:
        table.add_row(r.row.name, r.row.expected, r.got if r.matches else f"[red]{r.got}[/]", f"{r.seconds:.1f} s")
    console.console.print(table)
    matched = sum(r.matches for r in results)
    slowest = max(results, key=lambda r: r.seconds)
    console.console.print(f"{matched} of {len(results)} rows match; total {sum(r.seconds for r in results):.1f} s, slowest {slowest.row.name} ({slowest.seconds:.1f} s)")
    ctx.exit(int(ExitCode.OK if matched == len(results) else ExitCode.CHECK_FAILED))


@click.command()
@click.option("--site", metavar="NAME|PATH", help="The chat's site profile (asked otherwise).")
@click.option("--url", type=URL, metavar="URL", help="Override the site's base URL.")
@click.option("--profile", type=click.Path(file_okay=False, path_type=Path), help="A copy of this browser profile is tested (asked otherwise).")
@click.option("-y", "--yes", is_flag=True, help="Answer every question with its default (non-interactive).")
@click.option("--save-to", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True, help="Where the report and playbook go, if you keep them.")
@click.option("--time-scale", type=TIME_SCALE, default=1.0, envvar="ASSISTANT_TIME_SCALE", metavar="F", help="Multiply every backoff wait by F.")
@click.option("--headed", is_flag=True, help="Show the browser window.")
@click.option("--browser-path", metavar="PATH", help="A Chromium/Chrome executable.")
@click.pass_context
def guide(ctx, site, url, profile, yes, save_to, time_scale, headed, browser_path) -> None:
    """A guided diagnosis: a few questions, the checks with live progress, a verdict and what to do.

    Ctrl-C at any point stops it and leaves nothing behind.
    """
    from assistant.cli.guide import ask, save
    from assistant.diagnosis.model import Setup
    from assistant.diagnosis.run import diagnose as run_diagnosis
    from assistant.experiments.trial import Check
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase
    from assistant.report.console import ConsoleReporter

    interactive = not yes and click.get_text_stream("stdin").isatty()
    try:
        answers = ask(not interactive, site, profile, url)
        profile_site = load_site(answers.site)
        profile_site = rebase(profile_site, url) if url else profile_site
        click.echo(f"Checking {profile_site.url}: reproducing, probing, backing off, then one change at a time ...")
        verdict = run_diagnosis(profile_site, Setup(profile=answers.profile, routes=profile_site.routes), Check(), turns=answers.turns,
                                time_scale=time_scale, headless=not headed, browser_path=browser_path,
                                listeners=[ConsoleReporter()], json_path=None, allow_system_changes=answers.allow_system_changes)
    except (KeyboardInterrupt, click.Abort):
        click.echo("\nStopped. Nothing in your browser or system was changed, and the temporary browsers and copies were removed.", err=True)
        ctx.exit(int(ExitCode.INTERRUPTED))
    if not interactive or click.confirm("Save the report and a playbook that repeats this check?", default=True):
        report, playbook = save(verdict, answers, url, save_to)
        click.echo(f"Saved {report} and {playbook} (repeat with: assistant run {playbook}{' --url ' + url if url else ''}).")
    ctx.exit(int(ExitCode.OK if verdict.category == "healthy" else ExitCode.CHECK_FAILED))
