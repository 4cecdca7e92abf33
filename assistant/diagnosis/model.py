"""What a diagnosis works on (the person's setup) and what it ends with (a verdict)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.playbook.model import Route

# The fixed list of verdicts; the JSON report carries one of these as verdict.category.
CATEGORIES = (
    "healthy",
    "provider_outage",
    "web_outage",
    "rate_limited",
    "transient_overload",
    "session_context",
    "stale_cache",
    "cookies",
    "extension",
    "dns",
    "streams_blocked",
    "network_route",
    "feature_missing",
    "profile_mismatch",  # the site profile cannot drive this page: no verdict on the chat
    "inconclusive",
)


@dataclass(frozen=True)
class Setup:
    """The person's browser and network as the diagnosis reproduces them."""

    profile: Path | None = None  # their Chrome/Chromium profile (a copy is used)
    extensions: tuple[Path, ...] = ()  # unpacked extensions they run
    proxy: str | None = None  # their network path, when it goes through a proxy
    routes: tuple[Route, ...] = ()  # other paths to compare (a VPN region, another proxy)

    @property
    def customised(self) -> bool:
        """Whether a clean profile is a different setup from this one."""
        return self.profile is not None or bool(self.extensions)


@dataclass
class Evidence:
    """One observation and where it came from (a step, a probe, an experiment, a screenshot)."""

    source: str
    observation: str
    outcome: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """The category, why (evidence), what to do (remedies, ranked), and what was tried."""

    category: str
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    culprit: list[dict[str, Any]] | None = None  # the extension(s), for category "extension"
    recovered_at: int | None = None  # the attempt, for category "transient_overload"
    missing_features: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, [], {})} | {"category": self.category}
