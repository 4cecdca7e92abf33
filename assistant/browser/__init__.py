"""Finding a browser and running one per run, with contexts per attempt."""

from assistant.browser.find import BrowserInfo, find_system_browser, how_to_get_a_browser
from assistant.browser.session import BrowserSession

__all__ = ["BrowserInfo", "BrowserSession", "find_system_browser", "how_to_get_a_browser"]
