"""A local web chat that behaves like DeepSeek's, faults included, served on loopback.

    from assistant.simulator import Simulator
    with Simulator("busy-twice", busy_form="row", lang="zh") as sim:
        ...  # drive sim.url with a browser; sim.completions counts the sends

One aiohttp server carries the chat page and its SSE endpoint in one of two skins
(`skins`: the DeepSeek look in `web`, a generic one in `plain`), an OpenAI-compatible
API (`openai_api`), a Statuspage-style status API (`statuspage`) and control endpoints
under `/__sim/`. Texts live in `texts`, settings in `settings`.
"""

from assistant.simulator import texts
from assistant.simulator.server import Simulator, serve
from assistant.simulator.settings import (
    BUSY_FORMS,
    LANGS,
    MARKUPS,
    SCENARIOS,
    SKINS,
    STATUS_LEVELS,
    STREAM_PATHS,
    Settings,
)

__all__ = [
    "BUSY_FORMS",
    "LANGS",
    "MARKUPS",
    "SCENARIOS",
    "SKINS",
    "STATUS_LEVELS",
    "STREAM_PATHS",
    "Settings",
    "Simulator",
    "serve",
    "texts",
]
