"""assistant: troubleshoot AI web chats that answer "Server busy, please try again later."."""

__version__ = "0.1.0"
