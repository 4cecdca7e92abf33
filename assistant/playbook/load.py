"""Load a YAML playbook into the typed model, validating all of it before a browser starts."""

from __future__ import annotations

import os
import re
from pathlib import Path

from assistant.errors import PlaybookError
from assistant.playbook import site as sites
from assistant.playbook import when as conditions
from assistant.playbook import yamlsrc
from assistant.playbook.model import (
    PROBE_NAMES,
    BrowserSpec,
    Playbook,
    Pos,
    RetryPolicy,
    Route,
    SiteProfile,
    Step,
)
from assistant.playbook.site import ROUTES_SCHEMA, rebase
from assistant.playbook.validate import FORMATS, check, checked
from assistant.playbook.yamlsrc import Issues, Y, did_you_mean, display_path
from assistant.steps import COMMON_KEYS, StepDef, registry
from assistant.timing.retry import RETRY_SCHEMA, policy_from_mapping

TOP_KEYS = ("name", "site", "include", "browser", "vars", "retry", "steps", "probes", "routes")
INCLUDE_SCHEMA: dict = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "description": "Playbooks whose steps run first and whose vars this one's override (paths relative to this file).",
}
_FROM_INCLUDED = ("name", "site", "include", "vars", "steps")  # name and site: so a whole playbook can be included
PROBES_SCHEMA: dict = {
    "type": "array",
    "items": {"type": "string", "enum": list(PROBE_NAMES)},
    "description": "Outside probes to run alongside the browser check.",
}
TOP_SCHEMA: dict = {
    "type": "object",
    "properties": dict.fromkeys(TOP_KEYS, {}),
    "additionalProperties": False,
}
_SIZE = {"type": "integer", "minimum": 1, "maximum": 10000}  # pixels
BROWSER_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "headless": {"type": "boolean"},
        "profile": {
            "type": ["string", "object"],
            "enum": ["clean"],
            "properties": {
                "path": {"type": "string", "minLength": 1, "description": "A Chromium/Chrome profile folder: the run uses a copy."},
                "storage_state": {"type": "string", "minLength": 1, "description": "A signed-in session saved by `assistant login`."},
            },
            "additionalProperties": False,
            "description": "clean (default), {path: DIR} or {storage_state: FILE}.",
        },
        "extensions": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Unpacked extension folders to load."},
        "locale": {"type": "string", "minLength": 1},
        "viewport": {
            "type": "object",
            "properties": {"width": _SIZE, "height": _SIZE},
            "required": ["width", "height"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
VARS_SCHEMA: dict = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
RETRY_OR_FLAG: dict = {**RETRY_SCHEMA, "type": ["object", "boolean"]}
BLOCK_SCHEMA: dict = {
    **RETRY_SCHEMA,
    "properties": {**RETRY_SCHEMA["properties"], "steps": {"type": "array", "minItems": 1}, "when": COMMON_KEYS["when"]},
    "required": ["steps"],
}
_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.S)
_BLOCK_EXAMPLE = "Example: - retry: {schedule: [5s, 10s, 30s], steps: [{send: hi}, {expect_reply: {contains: hi}}]}"


def load_playbook(
    path, variables: dict | None = None, site=None, url: str | None = None, warn=None
) -> Playbook:
    """Read, check and convert a playbook; `site` and `url` override the file's own.
    `warn(text)` hears of what loads but looks like a mistake (a --var the playbook never uses)."""
    path = Path(path)
    text = yamlsrc.read(path, "playbook")
    root, issues = yamlsrc.parse(path, text)
    if root is None or root.type != "object":
        issues.add(
            root.pos if root else Pos(issues.file, 1, 1),
            "a playbook is a mapping with at least `steps:`",
            "Example:\n  site: simulator\n  steps:\n    - open: /",
        )
        issues.raise_if_any()
    loader = _Loader(path, root, issues)
    playbook = loader.load(variables or {}, site, url, text)
    if warn is not None:
        for name in variables or {}:
            if name not in loader.defined and name not in loader.used:
                known = sorted(loader.defined | loader.used)
                warn(f"--var {name}: the playbook neither defines nor uses a variable {name!r}, so it changes "
                     f"nothing. {did_you_mean(name, known, 'variables')}.")
    return playbook


def load_vars_file(path) -> dict[str, str]:
    """Variables from a YAML or JSON mapping of scalars (`--vars-file`), checked with positions."""
    path = Path(path)
    root, issues = yamlsrc.parse(path, yamlsrc.read(path, "vars file"))
    if root is None or root.type != "object":
        issues.add(root.pos if root else Pos(issues.file, 1, 1), "a vars file is a mapping of names to values",
                   'Example (YAML): prompt: "Say pong"   or (JSON): {"prompt": "Say pong"}')
    data = check(root, VARS_SCHEMA, issues, "vars file") if not len(issues) else None
    issues.raise_if_any()
    return {k: _text(v) for k, v in (data or {}).items()}


def hide_secrets(text: str, secrets: dict[str, str]) -> str:
    """Every environment value read for `${env:NAME}` replaced by that reference (short ones only when quoted)."""
    for value, name in sorted(secrets.items(), key=lambda kv: -len(kv[0])):
        if len(value) >= 4:
            text = text.replace(value, name)
        elif value:
            for quoted in (repr(value), f'"{value}"'):
                text = text.replace(quoted, repr(name))
    return text


def _text(value) -> str:
    """A variable's value as text, the way it was written in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class _Loader:
    """One playbook's checks; every problem goes into `issues`, raised together at the end."""

    def __init__(self, path: Path, root: Y, issues: Issues):
        self.path, self.issues, self.default, self.values = path, issues, None, {}
        self.secrets: dict[str, str] = {}  # an environment variable's value -> `${env:NAME}`
        self.defined: set[str] = set()  # names under `vars:` (this playbook's and included ones')
        self.used: set[str] = set()  # names read by `${name}` or `vars.name`
        top = yamlsrc.without_extensions(root)
        check(top, TOP_SCHEMA, issues, "the playbook")  # unknown top-level keys; `x-...` are gone
        self.top, self.root, self.steps_def = top.value, root, registry()
        self.parts: list[dict[str, Y]] = []  # included playbooks' top levels, in run order
        if "include" in self.top:
            self._include(self.top["include"], path, (path.resolve(),))

    def load(self, variables: dict, site_arg, url_arg, text: str) -> Playbook:
        values = self.values = self._vars(variables)
        seen: set[int] = set()
        for top in (*self.parts, self.top):
            if "steps" in top:
                self._substitute(top["steps"], values, seen)
        if "site" in self.top:
            self._substitute(self.top["site"], values, seen)
        name = (
            check(self.top["name"], {"type": "string"}, self.issues, "name")
            if "name" in self.top
            else None
        )
        browser = self._browser()
        if "retry" in self.top:
            data, ok = checked(self.top["retry"], RETRY_OR_FLAG, self.issues, "retry")
            self.default = self._policy(data) if ok else None
        steps = self._all_steps()
        profile = self._site(site_arg, url_arg)
        probes = self._optional("probes", PROBES_SCHEMA) or []
        routes = [Route(**r) for r in self._optional("routes", ROUTES_SCHEMA) or []]
        try:
            self.issues.raise_if_any()
        except PlaybookError as exc:
            hint = hide_secrets(exc.hint, self.secrets) if exc.hint else None
            raise PlaybookError(hide_secrets(exc.message, self.secrets), hint=hint) from None
        return Playbook(
            name=name or self.path.stem,
            path=self.path,
            site=profile,
            browser=browser,
            vars=values,
            steps=steps,
            source=text,
            probes=tuple(dict.fromkeys(probes)),
            routes=(*profile.routes, *routes),
            secrets=self.secrets,
        )

    def _optional(self, key: str, schema: dict):
        """A checked top-level value, or None when absent or wrong (the issue is recorded)."""
        if key not in self.top:
            return None
        data, ok = checked(self.top[key], schema, self.issues, key)
        return data if ok else None

    def _include(self, y: Y, including: Path, chain: tuple[Path, ...]) -> None:
        """Read the playbooks `y` names (and theirs, first) into `self.parts`."""
        if not checked(y, INCLUDE_SCHEMA, self.issues, "include")[1]:
            return
        for item in y.value:
            path = including.parent / Path(item.value).expanduser()
            if path.resolve() in chain:
                cycle = " -> ".join(display_path(p) for p in (*chain, path.resolve()))
                self.issues.add(item.pos, f"include cycle: {cycle}", "A playbook cannot include itself, directly or through others.")
                continue
            top = self._included(item, path)
            if top is not None:
                if "include" in top:
                    self._include(top["include"], path, (*chain, path.resolve()))
                self.parts.append(top)

    def _included(self, item: Y, path: Path) -> dict[str, Y] | None:
        """One included file's top level, checked; its problems quote its own lines."""
        try:
            text = yamlsrc.read_text(path)
        except (OSError, yamlsrc.Unreadable) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            what = "not found" if isinstance(exc, FileNotFoundError) else f"unreadable ({why})"
            here = display_path(path.parent)
            self.issues.add(item.pos, f"included playbook {what}: {display_path(path)}",
                            f"Paths under include: are relative to the including file's folder ({here}).")
            return None
        try:
            root, issues = yamlsrc.parse(path, text)
        except PlaybookError as exc:
            self.issues.add_block(str(exc))
            return None
        self.issues.adopt(issues)
        if root is None or root.type != "object":
            self.issues.add(root.pos if root else Pos(issues.file, 1, 1), "an included playbook is a mapping with `steps:` or `vars:`")
            return None
        top = yamlsrc.without_extensions(root)
        check(top, TOP_SCHEMA, self.issues, "the included playbook")
        for key in (k for k in top.value if k in TOP_KEYS and k not in _FROM_INCLUDED):
            self.issues.add(top.keys[key], f"`{key}:` of an included playbook would not be used",
                            "Only its vars, steps and include are taken; set it in the including playbook.")
        return top.value

    def _vars(self, overrides: dict) -> dict[str, str]:
        """Included playbooks' vars, in order, then this playbook's, then the overrides.

        `${env:NAME}` and `${other}` inside a value are expanded, in the order the vars are
        written (a reference to a later one expands that one first); a cycle is an error at
        the first name in it. Overrides (--var, --vars-file) are taken as given."""
        merged: dict = {}
        nodes: dict[str, Y] = {}
        for top in (*self.parts, self.top):
            if "vars" in top:
                merged.update(check(top["vars"], VARS_SCHEMA, self.issues, "vars") or {})
                if isinstance(top["vars"].value, dict):
                    nodes.update(top["vars"].value)
        self.defined = set(merged)
        raw = {k: _text(v) for k, v in {**merged, **overrides}.items()}
        done: dict[str, str] = {k: v for k, v in raw.items() if k in overrides or k not in nodes or "${" not in v}

        def expand(name: str, chain: tuple[str, ...]) -> str:
            if name in done:
                return done[name]
            if name in chain:
                cycle = " -> ".join((*chain[chain.index(name):], name))
                self.issues.add(nodes[name].pos, f"vars: {name!r} refers to itself through {cycle}",
                                "A variable may use others defined under `vars:`, but not in a circle.")
                done[name] = raw[name]
                return done[name]
            y = nodes[name]

            def one(match: re.Match) -> str:
                if match.group(0) == "$${":
                    return "${"
                ref = (match.group(1) or "").strip()
                if match.group(1) is None:
                    self.issues.add(y.pos, f"vars: unterminated '${{' in {name}'s value {raw[name]!r}",
                                    "Close it with '}', or write '$${' for a literal '${'.")
                elif ref.startswith("env:"):
                    return self._environment(match, y, ref)
                elif ref in raw:
                    self.used.add(ref)
                    return expand(ref, (*chain, name))
                else:
                    self.issues.add(y.pos, f"vars: unknown variable '{ref}' in {name}'s value {raw[name]!r}",
                                    did_you_mean(ref, sorted(raw), "variables") + ".")
                return match.group(0)

            done[name] = _VAR.sub(one, raw[name])
            return done[name]

        return {k: expand(k, ()) for k in raw}

    def _substitute(self, y: Y, values: dict[str, str], seen: set[int]) -> None:
        """Replace `${name}` in every string under `y`; `$${` is a literal `${`."""
        if id(y) in seen:
            return  # an alias shares its anchor's Y: substitute once, or `$${` would not stick
        seen.add(id(y))
        if isinstance(y.value, (dict, list)):
            for child in y.value.values() if isinstance(y.value, dict) else y.value:
                self._substitute(child, values, seen)
        elif isinstance(y.value, str) and "${" in y.value:
            y.value = _VAR.sub(lambda m: self._variable(m, y, values), y.value)

    def _variable(self, match: re.Match, y: Y, values: dict[str, str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = (match.group(1) or "").strip()
        if match.group(1) is None:
            self.issues.add(
                y.pos,
                f"unterminated '${{' in {y.value!r}",
                "Close it with '}', or write '$${' for a literal '${'.",
            )
        elif name in values:
            self.used.add(name)
            return values[name]
        elif name.startswith("env:"):
            return self._environment(match, y, name)
        else:
            self.issues.add(
                y.pos,
                f"unknown variable '{name}' in {y.value!r}",
                did_you_mean(name, sorted(values), "variables")
                + ". Define it under `vars:` or pass --var NAME=VALUE; write $${ for a literal ${.",
            )
        return match.group(0)

    def _environment(self, match: re.Match, y: Y, name: str) -> str:
        """`${env:NAME}` or `${env:NAME:-default}`, read now; the value never goes into a message."""
        env = _ENV.fullmatch(name)
        if env is None:
            self.issues.add(y.pos, f"'${{{name}}}' is not an environment variable reference",
                            "Write ${env:NAME} or ${env:NAME:-default}; NAME is letters, digits and _.")
        elif os.environ.get(env.group(1)) or (env.group(2) is None and env.group(1) in os.environ):
            self.secrets[os.environ[env.group(1)]] = f"${{env:{env.group(1)}}}"  # never shown in a message
            return os.environ[env.group(1)]
        elif env.group(2) is not None:  # as in the shell, `:-` also replaces an empty value
            return env.group(2)
        else:
            self.issues.add(y.pos, f"environment variable {env.group(1)} is not set (for '${{{name}}}')",
                            f"Set it (export {env.group(1)}=...) or give a default: ${{env:{env.group(1)}:-default}}.")
        return match.group(0)

    def _browser(self) -> BrowserSpec:
        if "browser" not in self.top:
            return BrowserSpec()
        data, ok = checked(self.top["browser"], BROWSER_SCHEMA, self.issues, "browser")
        if not ok:
            return BrowserSpec()
        viewport = data.pop("viewport", None)
        profile = data.pop("profile", "clean")
        here = self.path.parent
        if isinstance(profile, dict) and len(profile) != 1:
            self.issues.add(self.top["browser"].value["profile"].pos, "browser.profile: give exactly one of path or storage_state")
            profile = "clean"
        kind = "clean" if isinstance(profile, str) else next(iter(profile))
        located = (here / Path(profile[kind]).expanduser()) if kind != "clean" else None
        return BrowserSpec(
            **{k: v for k, v in data.items() if k != "extensions"},
            viewport=(viewport["width"], viewport["height"]) if viewport else None,
            profile=kind,
            profile_path=located if kind == "path" else None,
            storage_state=located if kind == "storage_state" else None,
            extensions=tuple(here / Path(e).expanduser() for e in data.get("extensions", ())),
        )

    def _policy(self, data) -> RetryPolicy | None:
        """A checked retry value: a policy mapping, `false` (none) or `true` (the default)."""
        if data is None or data is False:
            return None
        return (self.default or RetryPolicy()) if data is True else policy_from_mapping(data)

    def _all_steps(self) -> list[Step]:
        """The included playbooks' steps, in order, then this playbook's."""
        items: list[Y] = []
        for top in (*self.parts, self.top):
            if "steps" in top and checked(top["steps"], {"type": "array", "minItems": 1}, self.issues, "steps")[1]:
                items += top["steps"].value
        if not any("steps" in top for top in (*self.parts, self.top)):
            self.issues.add(
                self.root.pos,
                "the playbook has no `steps:`",
                "Add a list of steps, e.g. steps: [open: /, new_chat]",
            )
        return self._step_list(items, in_block=False)

    def _steps(self, y: Y, in_block: bool) -> list[Step]:
        _, ok = checked(y, {"type": "array", "minItems": 1}, self.issues, "steps")
        return self._step_list(y.value, in_block) if ok else []

    def _step_list(self, items: list[Y], in_block: bool) -> list[Step]:
        return [s for s in (self._step(item, in_block, n) for n, item in enumerate(items, 1)) if s]

    def _step(self, item: Y, in_block: bool, number: int) -> Step | None:
        if item.type == "string":
            name, pos, value = item.value, item.pos, None
        elif item.type == "object" and len(item.value) == 1:
            ((name, value),) = item.value.items()
            pos = item.keys[name]
        elif item.type == "object" and item.value:
            self.issues.add(
                item.pos,
                f"a step item has one key, the step name; this one has {len(item.value)}: {', '.join(item.value)}",
                "Start each step with its own '- ', and indent a step's parameters under its name:\n"
                "  - expect_reply:\n      contains: pong",
            )
            return None
        else:
            self.issues.add(
                item.pos,
                f"a step is a name or `name: value`, got {item.describe()}",
                "Example: - open: /",
            )
            return None
        if name == "retry":
            return self._block(pos, value, number)
        if name not in self.steps_def:
            known = [*sorted(self.steps_def), "retry"]
            self.issues.add(pos, f"unknown step '{name}'", did_you_mean(name, known, "steps"))
            return None
        return self._params(name, pos, value, in_block, number)

    def _params(self, name: str, pos: Pos, value: Y | None, in_block: bool, number: int) -> Step | None:
        d = self.steps_def[name]
        value = self._as_mapping(d, pos, value)
        if value is None:
            return None
        schema = {**d.schema, "properties": {**d.schema.get("properties", {}), **COMMON_KEYS}}
        if d.retryable:
            schema = {
                **schema,
                "properties": {**schema.get("properties", {}), "retry": RETRY_OR_FLAG},
            }
        elif "retry" in value.value:
            self.issues.add(
                value.keys["retry"],
                f"step '{name}' cannot be retried on its own",
                f"Wrap it in a retry block. {_BLOCK_EXAMPLE}",
            )
            value = Y({k: v for k, v in value.value.items() if k != "retry"}, value.pos, value.keys)
        params, ok = checked(value, schema, self.issues, name)
        if not ok:
            return None
        # Inside a block the block retries; a default on its steps too would multiply attempts.
        retry = self.default if d.retryable and not in_block else None
        if "retry" in params:
            retry = self._policy(params.pop("retry"))
        optional = bool(params.pop("optional", False))
        cond = self._when(value.value["when"], params.pop("when"), number) if "when" in params else None
        return Step(kind=name, params=params, pos=pos, retry=retry, optional=optional, when=cond)

    def _when(self, y: Y, text: str, number: int) -> conditions.When | None:
        """Parse a `when:` condition and check the names it reads against this step's place."""
        try:
            cond = conditions.parse(text)
        except conditions.WhenSyntaxError as exc:
            caret = "\n".join(str(exc).splitlines()[1:]) if len(text) <= 200 else "  (too long to point into)"
            shown = text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"
            self.issues.add(y.pos, f"when: cannot parse {shown!r}: {exc.message} (column {exc.column})",
                            f"{caret}\nExamples: previous.outcome == 'tolerated', steps.2.result in ['busy', 'timeout'], "
                            "vars.mode != 'quick', failed and not passed; strings in quotes.")
            return None
        for ref in cond.refs:
            if ref.kind == "vars":
                self.used.add(ref.key)
            if ref.kind == "vars" and ref.key not in self.values:
                self.issues.add(y.pos, f"when: unknown variable 'vars.{ref.key}' in {text!r}",
                                did_you_mean(ref.key, sorted(self.values), "variables"))
            elif ref.kind == "steps" and ref.key == -1 and number == 1:
                self.issues.add(y.pos, f"when: {text!r} reads `previous`, but this is the first step of its list")
            elif ref.kind == "steps" and not 0 < ref.key < number and ref.key != -1:
                self.issues.add(y.pos, f"when: steps.{ref.key} in {text!r} is not an earlier step (this is step {number})",
                                "A condition reads the steps before it in the same list, numbered from 1.")
        return cond

    def _as_mapping(self, d: StepDef, pos: Pos, value: Y | None) -> Y | None:
        """The step's parameters as a mapping: nothing -> {}, a scalar -> {shorthand: it}."""
        if value is None or value.type == "null":
            if d.schema.get("required"):
                self.issues.add(pos, f"step '{d.name}' needs a value", f"Example: {d.example}")
                return None
            return Y({}, pos)
        if value.type == "object":
            return value
        if d.shorthand:
            return Y({d.shorthand: value}, value.pos, {d.shorthand: value.pos})
        takes = "a mapping of parameters" if d.schema.get("properties") else "no value"
        self.issues.add(
            value.pos,
            f"step '{d.name}' takes {takes}, got {value.describe()}",
            f"Example: {d.example}",
        )
        return None

    def _block(self, pos: Pos, value: Y | None, number: int) -> Step | None:
        if value is None or value.type != "object":
            self.issues.add(
                value.pos if value else pos,
                "a retry block is a mapping: policy keys plus `steps:`",
                _BLOCK_EXAMPLE,
            )
            return None
        data, ok = checked(value, BLOCK_SCHEMA, self.issues, "retry")
        if not ok:  # a policy with a wrong value is not built (its problems are recorded)
            return None
        steps = self._steps(value.value["steps"], in_block=True)
        policy = {k: v for k, v in data.items() if k not in ("steps", "when")}
        retry = policy_from_mapping(policy) if policy or not self.default else self.default
        cond = self._when(value.value["when"], data["when"], number) if "when" in data else None
        return Step(kind="retry", params={}, pos=pos, retry=retry, steps=steps, when=cond)

    def _site(self, site_arg, url_arg) -> SiteProfile | None:
        ref_y = self.top.get("site")
        if site_arg is None and ref_y is None:
            self.issues.add(
                self.root.pos,
                "the playbook names no site",
                f"Add `site: NAME` (shipped: {', '.join(sites.shipped_sites())}) or a path to a site profile.",
            )
            return None
        if site_arg is not None:
            ref = str(site_arg)  # an override comes from the command line: paths are cwd-relative
            ref = str(Path(ref).resolve()) if sites.is_path(ref) else ref
        elif check(ref_y, {"type": "string", "minLength": 1}, self.issues, "site") is None:
            return None
        else:
            ref = ref_y.value
        try:
            profile = sites.read_site(sites.resolve(ref, self.path.parent))
        except sites.SiteNotFound as exc:
            if site_arg is None:
                self.issues.add(ref_y.pos, exc.message, exc.hint)
            else:
                self.issues.add_block(f"site override: {exc.message}\n{exc.hint}")
            return None
        except PlaybookError as exc:
            self.issues.add_block(str(exc))
            return None
        return self._url(profile, url_arg)

    def _url(self, profile: SiteProfile, url_arg: str | None) -> SiteProfile | None:
        if url_arg is None:
            return profile
        try:
            return rebase(profile, FORMATS["url"](url_arg))
        except ValueError as exc:
            self.issues.add_block(f"url override: {exc.args[0]}\n{exc.args[1]}")
            return None
