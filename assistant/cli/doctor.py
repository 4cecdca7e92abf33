"""`assistant doctor`: which browser will be used, and getting one."""

from __future__ import annotations

import click

from assistant.errors import ExitCode


@click.command()
@click.option("--browser-path", metavar="PATH", help="Check this Chromium/Chrome executable.")
@click.option("--install-browser", is_flag=True,
              help="If no browser works, install one: Playwright's Chromium, else the system package (apt-get/dnf; needs root or sudo).")
@click.pass_context
def doctor(ctx, browser_path, install_browser) -> None:
    """Say which browser the tool will use, its version, and how to get one if none."""
    from assistant.browser.check import check_browser

    ok = check_browser(browser_path, echo=click.echo)
    if not ok and install_browser:
        from assistant.browser.install import install_browser as install

        click.echo("Installing a browser (asked for with --install-browser) ...")
        ok = install(click.echo) and check_browser(browser_path, echo=click.echo)
    ctx.exit(int(ExitCode.OK if ok else ExitCode.ENVIRONMENT))
