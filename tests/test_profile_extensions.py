"""Issue 14: `diagnose --profile` bisects the extensions installed in the person's profile.

A real Chromium profile folder, built here as tests/test_extensions.py builds one
(Preferences listing "Load unpacked" extensions), holds the real vendored extensions and,
in one case, a breaking fixture; the diagnosis loads them unpacked into clean profiles,
names the breaking one, says which it could not include, and leaves the profile as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.browser.extensions import fixture_extensions, real_extensions
from assistant.browser.find import find_system_browser
from assistant.cli import cli
from assistant.diagnosis.model import Setup
from assistant.diagnosis.run import diagnose
from assistant.experiments.bisect import launch_budget
from assistant.experiments.trial import Check
from assistant.playbook import load_site
from assistant.playbook.site import rebase

FIXTURES, REAL = fixture_extensions(), real_extensions()
BROWSER = find_system_browser()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(BROWSER is None, reason="no system Chromium or Chrome found")]
CHECK = Check(timeout=4.0, send_timeout=3.0)  # the simulator answers at once; locks show within these


def chromium_id(path: Path) -> str:
    """The id Chromium gives an unpacked folder, written out independently of the module."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return digest.translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))


def write_profile(profile: Path, folders: list[Path], broken: Path | None = None) -> None:
    """A profile folder whose Preferences list `folders` as "Load unpacked" extensions, enabled."""
    settings = {chromium_id(f): {"location": 4, "path": str(f.resolve()), "state": 1} for f in folders}
    if broken is not None:
        settings[chromium_id(broken)] = {"location": 4, "path": str(broken.resolve()), "state": 1}
    profile.mkdir(parents=True)
    (profile / "Preferences").write_text(json.dumps({"extensions": {"settings": settings}}), encoding="utf-8")


def snapshot(*roots: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()}


def person(tmp_path: Path, breaking: str | None) -> tuple[Path, Path, Path]:
    """The person's setup: the real extensions (and `breaking`) and one whose manifest Chromium
    refuses, all "Load unpacked" from folders of theirs, listed in their profile's Preferences."""
    dev = tmp_path / "dev"
    folders = [shutil.copytree(src, dev / name) for name, src in REAL.items()]
    if breaking:
        folders.append(shutil.copytree(FIXTURES[breaking], dev / breaking))
    unreadable = dev / "commas"
    unreadable.mkdir()
    (unreadable / "manifest.json").write_text('{"manifest_version": 3, "name": "Commas", "version": "1",}', encoding="utf-8")
    profile = tmp_path / "profile"
    write_profile(profile, folders, broken=unreadable)
    return profile, dev, unreadable


def test_diagnose_profile_convicts_the_breaking_extension_installed_in_it(sim, tmp_path):
    profile, dev, unreadable = person(tmp_path, "lock-composer")
    before = snapshot(profile, dev)
    site = rebase(load_site("simulator"), sim.url)
    verdict = diagnose(site, Setup(profile=profile), CHECK, turns=1, time_scale=0.001, headless=True,
                       browser_path=BROWSER.path, listeners=[], json_path=None)
    assert verdict.category == "extension", verdict.summary
    assert [c["name"] for c in verdict.culprit] == ["Lock Composer (fixture)"]
    seen = [e.observation for e in verdict.evidence]
    launches = [line for line in seen if line.startswith("launch ")]
    assert launches and len(launches) <= launch_budget(3), seen  # the three readable ones bisected
    assert "Vimium" in launches[0] and "Lock Composer (fixture)" in launches[0], launches
    assert not any("Commas" in line for line in launches)
    assert any(line.startswith("not included: 'commas'") and "trailing comma" in line for line in seen), seen
    assert any("could not be included" in t for t in verdict.tried), verdict.tried
    assert any("Not included" in n and str(unreadable / "manifest.json") in n for n in verdict.notes), verdict.notes
    assert snapshot(profile, dev) == before  # the person's profile and extension folders untouched


def test_diagnose_profile_with_only_real_extensions_finds_no_culprit(sim, tmp_path):
    profile, dev, unreadable = person(tmp_path, None)
    before = snapshot(profile, dev)
    report = tmp_path / "verdict.json"
    out = CliRunner().invoke(cli, ["diagnose", "simulator", "--url", sim.url, "--profile", str(profile),
                                   "--time-scale", "0.001", "--timeout", "4", "--json", str(report)])
    assert out.exit_code == 0, out.output
    verdict = json.loads(report.read_text(encoding="utf-8"))["verdict"]
    assert verdict["category"] == "healthy" and "culprit" not in verdict
    seen = [e["observation"] for e in verdict["evidence"]]
    loaded = next(line for line in seen if line.startswith("your profile's copy runs"))
    assert loaded.startswith("your profile's copy runs 2 extension(s)") and "'Vimium'" in loaded, seen
    assert "Not included" in " ".join(verdict["notes"]) and "Traceback" not in out.output
    assert snapshot(profile, dev) == before


def test_a_folder_that_is_no_profile_is_refused_before_a_browser_starts(tmp_path):
    out = CliRunner().invoke(cli, ["diagnose", "simulator", "--profile", str(tmp_path)])
    assert out.exit_code == 2, out.output
    assert "is neither a Chromium/Chrome user-data folder" in out.output and "diagnosing" not in out.output
    assert "Traceback" not in out.output
