"""JSON Schemas (draft 2020-12) for playbooks and site profiles, generated, never written by hand.

The loader checks playbooks with a small JSON-Schema subset (assistant.playbook.validate);
this module turns the same schemas, and the step registry, into standard JSON Schema
for editors (yaml-language-server) and other tools. Two differences are bridged here:

- `"format": "duration"` becomes a `$ref` to `#/$defs/duration` (a number of seconds,
  or a string such as 500ms, 5s, 2m, 1h).
- `type: [a, b]` with `enum` restricts only the scalar type in our subset; standard
  `enum` would apply to every type, so such schemas become an `anyOf` per type.

Inside `steps`, `${name}` variables are substituted before checking, so any scalar
parameter may also be a string holding a variable (`#/$defs/variable`).
"""

from __future__ import annotations

from typing import Any

from assistant.playbook.load import (
    BROWSER_SCHEMA,
    INCLUDE_SCHEMA,
    PROBES_SCHEMA,
    TOP_KEYS,
    VARS_SCHEMA,
)
from assistant.playbook.site import ROUTES_SCHEMA, SITE_SCHEMA

# Exactly what the loader parses, so an editor accepts what a run accepts.
from assistant.playbook.validate import _DURATION
from assistant.steps import COMMON_KEYS, StepDef, registry
from assistant.timing.retry import RETRY_SCHEMA

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCALARS = ("string", "number", "integer", "boolean", "null")
_KEYS_BY_TYPE = {
    "object": ("properties", "required", "additionalProperties", "patternProperties"),
    "array": ("items", "minItems", "maxItems"),
    "string": ("enum", "minLength", "format", "pattern"),
    "number": ("enum", "minimum", "maximum"),
    "integer": ("enum", "minimum", "maximum"),
    "boolean": ("enum",),
    "null": (),
}
DURATION_DEF: dict = {
    "description": "Seconds (5, 1.5) or a number with a unit: 500ms, 5s, 2m, 1h.",
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": _DURATION.pattern},
    ],
}
VARIABLE_DEF: dict = {
    "type": "string",
    "pattern": r"\$\{[^}]+\}",
    "description": "A ${name} variable, substituted before the playbook is checked.",
}


def playbook_schema() -> dict:
    """The playbook JSON Schema, from the step registry and the loader's schemas."""
    steps = registry()
    defs: dict[str, Any] = {"duration": DURATION_DEF, "variable": VARIABLE_DEF}
    defs["retry_policy"] = _translate(RETRY_SCHEMA)
    defs["retry_block"] = _retry_block()
    for name, d in sorted(steps.items()):
        defs[f"step_{name}"] = _step_item(d)
    bare = sorted(n for n, d in steps.items() if not d.schema.get("required"))
    defs["step"] = {
        "description": "A step: its bare name, `name: value`, or `name: {parameters}`.",
        "oneOf": [
            {"type": "string", "enum": bare, "description": "A step that needs no parameters."},
            *({"$ref": f"#/$defs/step_{n}"} for n in sorted(steps)),
            {"$ref": "#/$defs/retry_block"},
        ],
    }
    top = {
        "name": {"type": "string", "description": "Shown in reports (default: the file name)."},
        "site": {"type": "string", "minLength": 1, "description": "A shipped site profile name or a path to one."},
        "include": _translate(INCLUDE_SCHEMA),
        "browser": _translate(BROWSER_SCHEMA),
        "vars": _translate(VARS_SCHEMA),
        "retry": {
            "description": "The default retry policy of retryable steps: a policy, true (the default policy) or false (none).",
            "anyOf": [{"$ref": "#/$defs/retry_policy"}, {"type": "boolean"}],
        },
        "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
        "probes": _translate(PROBES_SCHEMA),
        "routes": _translate(ROUTES_SCHEMA),
    }
    assert tuple(top) == TOP_KEYS, "playbook_schema() is out of step with the loader's TOP_KEYS"
    return {
        "$schema": DIALECT,
        "title": "assistant playbook",
        "type": "object",
        "properties": top,
        "patternProperties": {"^x-": {"description": "Ignored: a place for YAML anchors."}},
        "additionalProperties": False,
        "required": ["steps"],
        "$defs": defs,
    }


def site_schema() -> dict:
    """The site profile JSON Schema, from the loader's SITE_SCHEMA."""
    body = _translate(SITE_SCHEMA)
    return {
        "$schema": DIALECT,
        "title": "assistant site profile",
        **body,
        "patternProperties": {"^x-": {"description": "Ignored: a place for YAML anchors."}},
        "$defs": {"duration": DURATION_DEF},
    }


def _step_item(d: StepDef) -> dict:
    """`{name: value}` for one step: null, a shorthand scalar, or a mapping of parameters."""
    props = {**d.schema.get("properties", {}), **COMMON_KEYS}
    if d.retryable:
        props["retry"] = {
            "description": "This step's retry policy: a policy, true (the playbook's default) or false (none).",
            "anyOf": [{"$ref": "#/$defs/retry_policy"}, {"type": "boolean"}],
        }
    mapping = {**d.schema, "type": "object", "properties": props}
    values = [_translate(mapping, in_steps=True)]
    if d.shorthand:
        values.append(_translate(d.schema["properties"][d.shorthand], in_steps=True))
    if not d.schema.get("required"):
        values.append({"type": "null"})
    return {
        "type": "object",
        "description": f"{d.summary}\n\nExample: {d.example}",
        "properties": {d.name: {"anyOf": values}},
        "required": [d.name],
        "additionalProperties": False,
    }


def _retry_block() -> dict:
    policy = _translate(RETRY_SCHEMA, in_steps=True)
    steps = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}, "description": "The steps to run again together."}
    block = {**policy, "properties": {**policy["properties"], "steps": steps, "when": _translate(COMMON_KEYS["when"])}, "required": ["steps"]}
    return {
        "type": "object",
        "description": "Run these steps again together while the policy allows.",
        "properties": {"retry": block},
        "required": ["retry"],
        "additionalProperties": False,
    }


def _translate(schema: dict, in_steps: bool = False) -> dict:
    """One schema of our subset as standard JSON Schema (see the module docstring)."""
    if "anyOf" in schema or "$ref" in schema:
        return schema  # already standard (built in this module)
    if schema.get("format") == "duration":
        out = {"$ref": "#/$defs/duration", **_about(schema)}
        return _with_variable(out) if in_steps else out
    types = schema.get("type")
    if isinstance(types, list) and len(types) > 1:
        return {**_about(schema), "anyOf": [_translate(_only(schema, t), in_steps) for t in types]}
    out = {k: v for k, v in schema.items() if k not in ("properties", "items", "additionalProperties")}
    if "properties" in schema:
        out["properties"] = {k: _translate(v, in_steps) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        out["items"] = _translate(schema["items"], in_steps)
    extra = schema.get("additionalProperties")
    if extra is not None:
        out["additionalProperties"] = _translate(extra, in_steps) if isinstance(extra, dict) else extra
    if in_steps and types in _SCALARS and (types != "string" or "enum" in schema or "pattern" in schema):
        return _with_variable(out)
    return out


def _only(schema: dict, t: str) -> dict:
    """The part of a multi-type schema that applies to type `t`."""
    return {"type": t, **{k: schema[k] for k in _KEYS_BY_TYPE[t] if k in schema}}


def _about(schema: dict) -> dict:
    return {k: schema[k] for k in ("description",) if k in schema}


def _with_variable(schema: dict) -> dict:
    return {"anyOf": [schema, {"$ref": "#/$defs/variable"}], **_about(schema)}
