"""`assistant steps` and `assistant schema`: the reference, printed from the step registry."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.errors import UsageError

RETRY_BLOCK = """retry  A block, not a step: retries its steps together on a schedule.
  takes the policy keys of retry: (schedule, exponential, max_attempts, budget, retry_after, until), when: and steps: [...]
  example: - retry: {schedule: [5s, 10s, 30s], steps: [{send: hi}, {expect_reply: {contains: hi}}]}"""


@click.command()
@click.argument("names", nargs=-1, metavar="[STEP]...")
def steps(names) -> None:
    """List every playbook step: what it does, its parameters and an example."""
    from assistant.playbook.yamlsrc import did_you_mean
    from assistant.steps import COMMON_KEYS, registry

    known = registry()
    for name in names:
        if name == "retry":
            continue  # a block, not a step: described below
        if name not in known:
            raise UsageError(f"unknown step '{name}'. {did_you_mean(name, [*sorted(known), 'retry'], 'steps')}")
    for name in names or sorted(known):
        if name == "retry":
            click.echo(RETRY_BLOCK + "\n")
            continue
        click.echo(_describe(known[name]) + "\n")
    if not names:
        common = ", ".join(f"{k} ({_type(s)}): {s.get('description', '')}" for k, s in COMMON_KEYS.items())
        click.echo(f"Every step's mapping also takes {common}")
        click.echo("retry: a block, {policy keys..., steps: [...]}, retries its steps together.")


def _describe(d) -> str:
    flags = [f for f, on in (("retryable: takes retry:", d.retryable), (f"shorthand: `{d.name}: VALUE` sets {d.shorthand}", d.shorthand)) if on]
    lines = [f"{d.name}  {d.summary}"]
    lines += [f"  ({f})" for f in flags]
    required = set(d.schema.get("required", ()))
    for key, sub in d.schema.get("properties", {}).items():
        need = ", required" if key in required else ""
        lines.append(f"  {key} ({_type(sub)}{need}): {sub.get('description', '')}".rstrip())
    lines.append(f"  example: {d.example}")
    return "\n".join(lines)


def _type(schema: dict) -> str:
    if schema.get("format") == "duration":
        return "duration"
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"])) + (" or a list" if "array" in schema.get("type", ()) else "")
    types = schema.get("type", "any")
    if types == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_type(schema['items'])}"
    return " or ".join(types) if isinstance(types, list) else types


@click.command()
@click.option("--site", "site", is_flag=True, help="The site profile schema instead of the playbook schema.")
@click.option("--report", "report", is_flag=True, help="The JSON run report's schema (`run --json`) instead.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help="Write to FILE instead of printing.")
def schema(site, report, output) -> None:
    """Print the JSON Schema of playbooks (or, with --site, of site profiles).

    Editors with yaml-language-server use it through a first-line comment:
    `# yaml-language-server: $schema=PATH/playbook.schema.json`. With --report: the schema
    of the JSON run report, for scripts that read it.
    """
    if site and report:
        raise UsageError("Give --site or --report, not both: each prints one schema.")
    if report:
        from assistant.report.json_report import report_schema

        data = report_schema()
    else:
        from assistant.playbook.schema import playbook_schema, site_schema

        data = site_schema() if site else playbook_schema()
    text = schema_text(data)
    if output:
        from assistant.report.files import write_report

        write_report(output, text.encode("utf-8"), "the schema file (--output)", mode=0o644)
    else:
        click.echo(text, nl=False)


def schema_text(data: dict) -> str:
    """The schema as it is committed: two-space JSON with a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
