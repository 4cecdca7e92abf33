"""Browser extensions: read an unpacked one, list a profile's, load chosen ones into Chromium.

The extension experiment bisects a person's extensions in a clean profile, so it needs
each one as a folder Chromium can load with `--load-extension`: unpacked folders as they
are, and for extensions installed in a profile, their latest version folder. An id is
computed the way Chromium computes it, so a finding can name the same id that
chrome://extensions shows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import UsageError

log = logging.getLogger(__name__)

_CHECKOUT = Path(__file__).resolve().parents[2]
_ID = re.compile(r"[a-p]{32}")
_MSG = re.compile(r"__MSG_(\w+)__")
UNPACKED = 4  # extensions.settings.<id>.location: loaded with "Load unpacked"
COMPONENT = {5, 10}  # built into Chromium (the PDF viewer and the like): not the person's


class ExtensionError(UsageError):
    """An extension or profile that cannot be read; the message names the path and the problem (exit 2)."""

    label = "extension"


@dataclass(frozen=True)
class Extension:
    """One extension on disk; `path` is the folder holding its manifest.json."""

    id: str
    name: str
    version: str
    path: Path
    enabled: bool = True
    source: str = "unpacked"  # "unpacked" (a folder of its own) or "profile" (installed in one)
    problem: str = ""  # why the tool cannot read it (then name and version are placeholders)

    @property
    def readable(self) -> bool:
        return not self.problem


def load_unpacked(path: str | Path) -> Extension:
    """Read and check the unpacked extension in `path`, with the id Chromium will give it."""
    folder = Path(path).resolve()
    manifest = _manifest(folder)
    return Extension(_id_for(folder, manifest), _name(folder, manifest), manifest["version"], folder)


def _manifest(folder: Path) -> dict:
    file = folder / "manifest.json"
    if not file.is_file():
        raise ExtensionError(f"{folder} is not an extension: it has no manifest.json")
    manifest = read_json(file)
    if not isinstance(manifest, dict):
        raise ExtensionError(f"{file} must hold a JSON object, not {type(manifest).__name__}")
    for key in ("name", "version"):
        if not isinstance(manifest.get(key), str) or not manifest[key].strip():
            raise ExtensionError(f"{file} has no {key!r}: every extension needs a name and a version")
    return manifest


def _id_for(folder: Path, manifest: dict) -> str:
    """A manifest `key` fixes the id (a store extension copied out keeps its id); else the path does."""
    if isinstance(manifest.get("key"), str):
        try:
            return _to_id(base64.b64decode(manifest["key"], validate=True))
        except binascii.Error:
            raise ExtensionError(f"{folder / 'manifest.json'} has a 'key' that is not base64") from None
    text = str(folder)
    if sys.platform == "win32":  # Chromium upper-cases the drive letter and hashes UTF-16
        text = text[:1].upper() + text[1:]
        return _to_id(text.encode("utf-16-le"))
    return _to_id(os.fsencode(text))


def _to_id(data: bytes) -> str:
    """Chromium's id: sha256, first 32 hex digits, each 0-f written as a-p."""
    return "".join(chr(ord("a") + int(c, 16)) for c in hashlib.sha256(data).hexdigest()[:32])


def _name(folder: Path, manifest: dict) -> str:
    """The name, with a `__MSG_key__` name looked up in the default locale's messages."""
    match = _MSG.fullmatch(manifest["name"].strip())
    if not match:
        return manifest["name"]
    file = folder / "_locales" / str(manifest.get("default_locale", "")) / "messages.json"
    messages = read_json(file) if file.is_file() else {}
    messages = messages if isinstance(messages, dict) else {}
    wanted = match[1].casefold()  # Chromium matches message keys case-insensitively
    entry = next((v for k, v in messages.items() if k.casefold() == wanted), None)
    if isinstance(entry, dict) and isinstance(entry.get("message"), str):
        return entry["message"]
    raise ExtensionError(
        f"{folder / 'manifest.json'} names itself {manifest['name']!r}, but {file} has no "
        f"message {match[1]!r} (is default_locale set, and is that _locales folder there?)"
    )


def discover(profile_dir: str | Path) -> list[Extension]:
    """The extensions of a Chromium/Chrome user-data folder or profile folder, sorted by name.

    Installed ones and "Load unpacked" ones; not Chromium's own components, nor those a
    past `--load-extension` recorded (they load only with that switch). One whose manifest
    the tool cannot read is listed all the same, with `problem` saying why.
    """
    profile = _profile(Path(profile_dir).resolve())
    settings = _settings(profile)
    result = []
    for ext_id, (folder, source) in _folders(profile, settings).items():
        entry = settings.get(ext_id, {})
        if entry.get("location") in COMPONENT:
            continue
        try:
            manifest = _manifest(folder)
            name = _name(folder, manifest)
        except ExtensionError as exc:  # one broken extension must not hide the others
            log.warning("cannot read an extension of %s: %s", profile, exc)
            manifest, name, problem = {"version": "?"}, folder.name if source == "unpacked" else ext_id, str(exc)
        else:
            problem = ""
        enabled = entry.get("state") != 0 and not entry.get("disable_reasons")
        result.append(Extension(ext_id, name, manifest["version"], folder, enabled, source, problem))
    return sorted(result, key=lambda e: (e.name.casefold(), e.id))


def _folders(profile: Path, settings: dict[str, dict]) -> dict[str, tuple[Path, str]]:
    """id -> (folder, source): installed ones' latest version, then unpacked ones kept elsewhere."""
    found: dict[str, tuple[Path, str]] = {}
    installed = profile / "Extensions"
    for folder in installed.iterdir() if installed.is_dir() else ():
        if not (_ID.fullmatch(folder.name) and folder.is_dir()):
            continue  # Extensions/Temp and stray files
        versions = [v for v in folder.iterdir() if (v / "manifest.json").is_file()]
        if versions:
            found[folder.name] = (max(versions, key=_version_key), "profile")
    for ext_id, entry in settings.items():
        path = Path(entry.get("path") or "")
        if entry.get("location") != UNPACKED or not path.is_absolute():
            continue
        path = path.resolve()
        if (path / "manifest.json").is_file() and not path.is_relative_to(profile):
            found.setdefault(ext_id, (path, "unpacked"))
    return found


def _profile(path: Path) -> Path:
    """The profile folder: `path` itself, or the last used (else Default) one of a user-data folder."""
    if (path / "Local State").is_file():
        last_used = (_json(path / "Local State").get("profile") or {}).get("last_used")
        for name in (last_used, "Default"):
            if isinstance(name, str) and name and (path / name).is_dir():
                return path / name
        raise ExtensionError(f"{path} is a browser user-data folder, but it has no Default profile")
    if (path / "Preferences").is_file():
        return path
    raise ExtensionError(
        f"{path} is neither a browser user-data folder (with 'Local State') nor a profile folder "
        "(with 'Preferences'); chrome://version shows the profile path"
    )


def _settings(profile: Path) -> dict[str, dict]:
    """extensions.settings of Preferences and Secure Preferences, merged per extension."""
    merged: dict[str, dict] = {}
    for name in ("Preferences", "Secure Preferences"):
        file = profile / name
        prefs = _json(file) if file.is_file() else {}
        for ext_id, entry in ((prefs.get("extensions") or {}).get("settings") or {}).items():
            if isinstance(entry, dict):
                merged.setdefault(ext_id, {}).update(entry)
    return merged


def _json(file: Path) -> dict:
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ExtensionError(f"{file} cannot be read as JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def read_json(file: Path):
    """A manifest.json or messages.json read as Chromium reads it (checked in Chromium 156):
    a leading byte-order mark, `//` and `/* */` comments outside strings, raw line breaks
    and `\\xHH` escapes inside strings are accepted; trailing commas, a trailing BOM, other
    control characters, single quotes, NaN and invalid UTF-8 are not."""
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ExtensionError(f"{file} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ExtensionError(f"{file} cannot be read as JSON: it is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(_as_strict_json(text.removeprefix("\ufeff")), parse_constant=_no_constant)
    except ValueError as exc:
        comma = " (a trailing comma: Chromium refuses those too)" if re.search(r",\s*[]}]", text) else ""
        raise ExtensionError(f"{file} cannot be read as JSON, even allowing the comments Chromium allows: {exc}{comma}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|//[^\n]*|/\*(?:.|\n)*?(?:\*/|$)', re.S)


def _as_strict_json(text: str) -> str:
    """Chromium's lenient JSON turned strict: comments become spaces (positions in errors
    stay close), line breaks in strings become escapes, `\\xHH` becomes `\\u00HH`."""

    def one(match: re.Match) -> str:
        token = match[0]
        if token.startswith('"'):
            token = token.replace("\r", "\\r").replace("\n", "\\n")
            return re.sub(r"\\(\\|x)", lambda m: "\\\\" if m[1] == "\\" else "\\u00", token)
        if token.startswith("/*") and (len(token) < 4 or not token.endswith("*/")):
            raise ValueError(f"a /* comment that never ends (at character {match.start()})")
        return re.sub(r"[^\n]", " ", token)

    return _TOKEN.sub(one, text)


def _version_key(folder: Path) -> tuple[int, ...]:
    """`1.10.2_0` sorts after `1.9.0_3`: version folders compare by their numbers."""
    return tuple(int(n) for n in re.findall(r"\d+", folder.name))


def launch_args(extensions: Iterable[Extension | Path]) -> list[str]:
    """Chromium arguments that load exactly these extensions and no other; [] for none.

    Playwright adds --disable-extensions by default: launch with
    `ignore_default_args=["--disable-extensions"]` for these to take effect.
    """
    paths = [str(Path(getattr(e, "path", e)).resolve()) for e in extensions]
    if not paths:
        return []
    for path in paths:
        if "," in path:  # the switches are comma-separated lists with no escaping
            raise ExtensionError(f"{path} has a comma in it, which Chromium cannot load: copy it elsewhere")
    joined = ",".join(paths)
    return [f"--disable-extensions-except={joined}", f"--load-extension={joined}"]


def fixture_extensions() -> dict[str, Path]:
    """The fixture extensions by name: shipped in the wheel, or in the checkout; {} if neither."""
    for root in (Path(__file__).resolve().parent.parent / "_fixtures" / "extensions", _CHECKOUT / "fixtures" / "extensions"):
        if root.is_dir():
            return {p.name: p for p in sorted(root.iterdir()) if (p / "manifest.json").is_file()}
    return {}


def real_extensions() -> dict[str, Path]:
    """Real extensions vendored from their public source (fixtures/extensions/real), by folder name."""
    for root in (Path(__file__).resolve().parent.parent / "_fixtures" / "extensions" / "real", _CHECKOUT / "fixtures" / "extensions" / "real"):
        if root.is_dir():
            return {p.name: p for p in sorted(root.iterdir()) if (p / "manifest.json").is_file()}
    return {}
