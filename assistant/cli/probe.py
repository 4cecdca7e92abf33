"""`assistant probe`: the outside probes alone (status page, API, DNS, TCP/TLS, streams, windows)."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.options import URL
from assistant.errors import ExitCode, UsageError

PROBLEM_OUTCOMES = ("down", "busy", "rate_limited", "queued", "error", "timeout")


@click.command()
@click.argument("site", default="deepseek", metavar="[SITE]")
@click.option("--url", type=URL, metavar="URL", help="Override the site's base URL (its status page and API follow when on the same host).")
@click.option("--only", metavar="NAMES", help="Comma-separated probes: status_page, api, dns, connect, streams, windows (default: all).")
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True, metavar="SECONDS", help="Time limit of each probe.")
@click.option("--proxy", metavar="URL", help="Send the probes' traffic through this HTTP proxy.")
@click.option("--allow-system-changes", is_flag=True, help="Let probes change the system (flush the DNS cache); otherwise they only advise.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write the findings as JSON to FILE.")
@click.pass_context
def probe(ctx, site, url, only, timeout_s, proxy, allow_system_changes, json_path) -> None:
    """Look at a chat from outside the browser: status page, API, DNS, connection, streams, windows.

    SITE is a site profile name or path (default deepseek). The probes run concurrently;
    each keeps to its own time limit. Exit 1 when a finding shows a problem (down, busy,
    rate-limited, queued, error, timeout), else 0.
    """
    import asyncio

    from assistant import events as ev
    from assistant.playbook import load_site
    from assistant.playbook.site import rebase
    from assistant.probes import PROBE_NAMES, ProbeContext
    from assistant.probes.run import run_probes
    from assistant.report.console import ConsoleReporter
    from assistant.report.json_report import write_json

    names = [n.strip() for n in only.split(",") if n.strip()] if only else list(PROBE_NAMES)
    unknown = [n for n in names if n not in PROBE_NAMES]
    if unknown:
        raise UsageError(f"--only: unknown probe(s) {', '.join(unknown)}; known: {', '.join(PROBE_NAMES)}.")
    from assistant.cli.options import site_argument

    site_argument(site)
    profile = load_site(site)
    profile = rebase(profile, url) if url else profile
    console = ConsoleReporter()
    context = ProbeContext(timeout=timeout_s, proxy=proxy, allow_system_changes=allow_system_changes)
    findings = asyncio.run(run_probes(profile, names, context, lambda f: console(ev.ProbeFinding(f))))
    if json_path:
        write_json(json_path, {"site": profile.name, "url": profile.url, "findings": [f.to_dict() for f in findings]})
    problems = [f for f in findings if f.outcome in PROBLEM_OUTCOMES]
    click.echo(f"{len(findings)} finding{'' if len(findings) == 1 else 's'}, {len(problems)} showing a problem.", err=True)
    ctx.exit(int(ExitCode.CHECK_FAILED if problems else ExitCode.OK))


# The other command modules register themselves onto `cli` when imported.
