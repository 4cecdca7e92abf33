"""Site profiles: a web chat's URL, selectors, busy texts, stream, status page and API."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from assistant.errors import PlaybookError
from assistant.playbook import resources, yamlsrc
from assistant.playbook.model import (
    DEFAULT_QUIET,
    ApiSpec,
    Pos,
    Route,
    SiteProfile,
    StreamSpec,
    Window,
)
from assistant.playbook.validate import checked

SELECTOR_KEYS = (
    "composer",
    "send",
    "reply",
    "new_chat",
    "retry_button",
    "error_row",
    "toast",
    "alert",
    "generating",
    "reply_done",  # shows once an answer is complete (a copy button bar): absent means still streaming
)
# Watched from inside the page with document.querySelectorAll, so CSS only.
CSS_ONLY = ("reply", "error_row", "toast", "alert", "generating", "reply_done")
OUTCOME_KEYS = ("busy", "rate_limited", "error")


def _alternatives(fmt: str | None = None, what: str = "Playwright selector") -> dict:
    item = {"type": "string", "minLength": 1, **({"format": fmt} if fmt else {})}
    return {
        **item,
        "type": ["string", "array"],
        "items": item,
        "minItems": 1,
        "description": f"A {what}, or a list of alternatives tried in order.",
    }


_URL = {"type": "string", "format": "url"}
_TEXT = {"type": "string", "minLength": 1}

_API = {
    "type": "object",
    "properties": {
        "name": {**_TEXT, "description": "A label for reports (default: api)."},
        "base": {**_URL, "description": "Base URL, e.g. https://api.deepseek.com."},
        "key_env": {**_TEXT, "description": "Environment variable holding the API key (never printed)."},
        "model": _TEXT,
    },
    "required": ["base"],
    "additionalProperties": False,
}
_CLOCK_TIME = {"type": "string", "format": "clock_time", "description": "HH:MM"}
_WINDOWS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "start": _CLOCK_TIME,
            "end": _CLOCK_TIME,
            "tz": {"type": "string", "format": "timezone", "description": "IANA zone, e.g. UTC or Asia/Shanghai."},
        },
        "required": ["start", "end"],
        "additionalProperties": False,
    },
}
ROUTES_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": _TEXT,
            "proxy": {"type": "string", "format": "proxy_url", "description": "http://, https:// or socks5:// proxy."},
        },
        "required": ["name", "proxy"],
        "additionalProperties": False,
    },
    "description": "Other network paths (a regional VPN or SOCKS endpoint) to compare.",
}
_ROUTES = ROUTES_SCHEMA

SITE_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "name": {**_TEXT, "description": "Short name (default: the file name)."},
        "url": {**_URL, "description": "The chat's start page, http(s)."},
        "selectors": {
            "type": "object",
            "properties": {
                k: _alternatives(
                    "css" if k in CSS_ONLY else "selector",
                    "CSS selector" if k in CSS_ONLY else "Playwright selector",
                )
                for k in SELECTOR_KEYS
            },
            "additionalProperties": False,
        },
        "busy_texts": {
            "type": "object",
            "properties": {k: _alternatives(what="exact text") for k in OUTCOME_KEYS},
            "additionalProperties": False,
        },
        "stream": {
            "type": "object",
            "properties": {
                "paths": {**_alternatives(what="URL path substring"), "minItems": 0},
                "kind": {"type": "string", "enum": ["sse", "websocket"]},
            },
            "additionalProperties": False,
        },
        "status_page": {
            **_URL,
            "type": ["string", "array"],
            "items": _URL,
            "description": "Statuspage base URLs, in fallback order.",
        },
        "api": _API,
        "api_fallbacks": {"type": "array", "items": _API, "description": "Other OpenAI-compatible routes to a model (an aggregator, another provider)."},
        "windows": {
            "type": "object",
            "properties": {"quiet": _WINDOWS, "busy": _WINDOWS},
            "additionalProperties": False,
            "description": "Daily quiet and busy windows (default quiet 01:00-05:00 UTC).",
        },
        "routes": _ROUTES,
        "features": {"type": "object", "additionalProperties": _alternatives()},
        "typing": {
            "type": "object",
            "properties": {"delay": {"type": ["string", "number"], "format": "duration",
                                     "description": "Time between keys (e.g. 80ms), for chats that react to each key or count typing speed."}},
            "additionalProperties": False,
            "description": "How the composer is typed into: at once (default) or at a person's pace.",
        },
    },
    "required": ["url"],
    "additionalProperties": False,
}


class SiteNotFound(Exception):
    """A site reference that names no profile; the caller adds the position."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message, self.hint = message, hint


def is_path(ref: str) -> bool:
    """A site reference is a path if it has a slash or a YAML suffix, else a name."""
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


def _shipped_dir() -> Path | None:
    try:
        return resources.sites_dir()
    except FileNotFoundError:
        return None


def shipped_sites() -> list[str]:
    """Names of the site profiles that ship with the tool."""
    folder = _shipped_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder else []


def resolve(ref: str, base_dir: Path | None = None) -> Path:
    """The profile file for a name (playbook's sites/ first, then shipped) or a path."""
    if is_path(ref):
        path = Path(ref).expanduser()
        path = base_dir / path if base_dir and not path.is_absolute() else path
        if not _is_file(path):
            raise SiteNotFound(
                f"site profile not found: {yamlsrc.display_path(path)}",
                "A relative site path starts at the playbook's folder.",
            )
        return path
    folders = [f for f in (base_dir / "sites" if base_dir else None, _shipped_dir()) if f]
    for folder in folders:
        if _is_file(folder / f"{ref}.yaml"):
            return folder / f"{ref}.yaml"
    known = sorted({p.stem for folder in folders for p in folder.glob("*.yaml")})
    raise SiteNotFound(
        f"unknown site '{ref}'",
        yamlsrc.did_you_mean(ref, known, "sites") + ". A path to a YAML file works too.",
    )


def _is_file(path: Path) -> bool:
    """is_file, False for a name too long for the system or holding a NUL (a typo, not a crash)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def load_site(name_or_path: str | Path, base_dir: Path | None = None) -> SiteProfile:
    """A shipped profile by name, or a profile file by path, validated."""
    try:
        path = resolve(str(name_or_path), Path(base_dir) if base_dir else None)
    except SiteNotFound as exc:
        raise PlaybookError(exc.message, hint=exc.hint) from None
    return read_site(path)


def read_site(path: Path) -> SiteProfile:
    """Read and check one site profile file."""
    root, issues = yamlsrc.parse(path, yamlsrc.read(path, "site profile"))
    if root is None or root.type != "object":
        issues.add(
            root.pos if root else Pos(issues.file, 1, 1),
            "a site profile is a mapping with at least `url:`",
        )
        issues.raise_if_any()
    data, _ = checked(yamlsrc.without_extensions(root), SITE_SCHEMA, issues, "site profile")
    issues.raise_if_any()
    return _profile(data, path)


def _tuple(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _profile(data: dict, path: Path) -> SiteProfile:
    stream, api = data.get("stream", {}), data.get("api")
    return SiteProfile(
        name=data.get("name", path.stem),
        url=data["url"],
        path=path.resolve(),
        selectors={k: _tuple(v) for k, v in data.get("selectors", {}).items()},
        busy_texts={k: _tuple(v) for k, v in data.get("busy_texts", {}).items()},
        stream=StreamSpec(paths=_tuple(stream.get("paths", ())), kind=stream.get("kind", "sse")),
        status_page=_tuple(data.get("status_page", ())),
        api=ApiSpec(**api) if api else None,
        features={k: _tuple(v) for k, v in data.get("features", {}).items()},
        api_fallbacks=tuple(ApiSpec(**a) for a in data.get("api_fallbacks", ())),
        quiet_windows=_windows(data.get("windows", {}).get("quiet")) or DEFAULT_QUIET,
        busy_windows=_windows(data.get("windows", {}).get("busy")),
        routes=tuple(Route(**r) for r in data.get("routes", ())),
        typing_delay=float(data.get("typing", {}).get("delay", 0.0)),
    )


def _windows(items) -> tuple[Window, ...]:
    return tuple(Window(w["start"], w["end"], w.get("tz", "UTC")) for w in items or ())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def rebase(profile: SiteProfile, url: str) -> SiteProfile:
    """The profile at another base URL; its status page and API move along when they shared
    the old origin (a simulator on another port, a staging host serving all three)."""
    old, new = _origin(profile.url), _origin(url)

    def moved(value: str) -> str:
        return new + value[len(old):] if _origin(value) == old else value

    api = dataclasses.replace(profile.api, base=moved(profile.api.base)) if profile.api else None
    return dataclasses.replace(
        profile,
        url=url,
        status_page=tuple(moved(u) for u in profile.status_page),
        api=api,
        api_fallbacks=tuple(dataclasses.replace(a, base=moved(a.base)) for a in profile.api_fallbacks),
    )
