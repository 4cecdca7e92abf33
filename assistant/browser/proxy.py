"""Proxies as Playwright takes them, and as reports show them (without credentials)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def public_proxy(url: str) -> str:
    """A proxy URL without its credentials, for reports."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def proxy_settings(url: str) -> dict:
    """Playwright's proxy settings for a route; loopback targets go through it too."""
    parts = urlsplit(url)
    settings = {"server": public_proxy(url), "bypass": "<-loopback>"}
    if parts.username:
        settings.update(username=unquote(parts.username), password=unquote(parts.password or ""))
    return settings
