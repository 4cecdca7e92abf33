"""Flushing the DNS cache: the command for each OS, run only with permission and never prompting."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

from assistant.probes import Finding, ProbeContext

ADVICE = {
    "windows": "ipconfig /flushdns",
    "macos": "sudo dscacheutil -flushcache; sudo killall -HUP mDNSResponder",
    "linux": "resolvectl flush-caches",  # systemd-resolved; glibc alone keeps no cache
}


def dns_flush_advice() -> dict[str, str]:
    """The command that flushes the DNS cache, by OS (windows, macos, linux)."""
    return dict(ADVICE)


def this_os() -> str:
    return {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")


def _commands(os_name: str) -> list[list[str]]:
    """What flush_dns runs here; sudo only as `sudo -n`, which fails rather than asks."""
    if os_name == "windows":
        return [["ipconfig", "/flushdns"]]
    if os_name == "macos":
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        return [[*sudo, "dscacheutil", "-flushcache"], [*sudo, "killall", "-HUP", "mDNSResponder"]]
    return [["resolvectl", "flush-caches"]]


async def flush_dns(ctx: ProbeContext) -> Finding:
    """Flush this machine's DNS cache if `ctx.allow_system_changes`, else say how to."""
    os_name = this_os()
    advice = ADVICE[os_name]
    data = {"os": os_name, "command": advice}
    if not ctx.allow_system_changes:
        summary = f"DNS cache flush not run: changing system settings was not allowed. To flush it yourself: {advice}"
        return Finding("dns", "flush", "unknown", summary, data)
    for command in _commands(os_name):
        tool = command[2] if command[0] == "sudo" else command[0]
        if shutil.which(tool) is None:
            summary = f"DNS cache not flushed: {tool} is not on this system (nothing of that kind to flush here)"
            return Finding("dns", "flush", "unknown", summary, data)
        failed = await _run(command, ctx.timeout)
        if failed:
            return Finding("dns", "flush", "error", f"DNS cache flush failed: {failed}. By hand: {advice}", data)
    return Finding("dns", "flush", "ok", f"DNS cache flushed ({advice})", data)


async def _run(command: list[str], timeout: float) -> str | None:
    """None on success, else what went wrong. No stdin and a new session: nothing can prompt."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=sys.platform != "win32",
        )
    except OSError as exc:
        return f"{command[0]} could not start: {exc}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return f"{' '.join(command)} did not finish within {timeout:g} s"
    if proc.returncode:
        last = (out.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        return f"{' '.join(command)} exited with {proc.returncode}: {last}"
    return None
