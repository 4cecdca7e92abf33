"""`assistant validate PLAYBOOK...`: every check that runs before a browser starts, for a pull request.

Schema, steps, `when:`, includes, selector syntax and variables with no value, each file
on its own; no browser and no network. Exit 0 when every file is valid, 2 otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from assistant.cli.options import parse_vars
from assistant.errors import AssistantError, ExitCode

_POSITION = re.compile(r"^(?P<file>[^\s>][^\n]*?):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")


@click.command()
@click.argument("playbooks", nargs=-1, required=True, metavar="PLAYBOOK...", type=click.Path(path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a playbook variable (repeatable), as `run` would.")
@click.option("--vars-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Variables from a YAML or JSON mapping, as `run` would.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the result as JSON to FILE (- for standard output).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the problems.")
@click.pass_context
def validate(ctx, playbooks, variables, vars_file, json_path, quiet) -> None:
    """Check playbooks without starting a browser (exit 0 all valid, 2 otherwise)."""
    from assistant.playbook import load_vars_file

    given = {**(load_vars_file(vars_file) if vars_file else {}), **parse_vars(variables)}
    results = [_check(path, given) for path in playbooks]
    for result in results:
        if result["valid"]:
            if not quiet:
                count = result["steps"]
                click.echo(f"ok  {result['path']}  ({count} step{'s' if count != 1 else ''}, site {result['site']})", err=True)
        else:
            click.echo(f"error (invalid playbook): {result['error']}\n", err=True)
    bad = sum(not r["valid"] for r in results)
    if not quiet or bad:
        click.echo(f"{len(results) - bad} of {len(results)} playbook{'s' if len(results) != 1 else ''} valid.", err=True)
    if json_path is not None:
        from assistant.report.json_report import write_json

        write_json(json_path, {"command": "validate", "valid": bad == 0, "playbooks": results}, "the --json result")
    ctx.exit(int(ExitCode.BAD_INPUT if bad else ExitCode.OK))


def _check(path: Path, variables: dict) -> dict:
    from assistant.playbook import load_playbook

    try:
        playbook = load_playbook(path, variables=variables)
    except AssistantError as exc:
        return {"path": str(path), "valid": False, "error": str(exc), "problems": problems_of(str(exc))}
    return {"path": str(path), "valid": True, "name": playbook.name, "site": playbook.site.name,
            "steps": len(playbook.steps), "problems": []}


def problems_of(message: str) -> list[dict]:
    """Each `file:line:col: message` of a playbook error as a mapping; the whole text when none has one."""
    found = [m.groupdict() for m in map(_POSITION.match, message.splitlines()) if m]
    for problem in found:
        problem["line"], problem["column"] = int(problem["line"]), int(problem["column"])
    return found or [{"file": None, "line": None, "column": None, "message": message.splitlines()[0] if message else ""}]
