"""Every text the simulated chat shows or sends, copied byte for byte from GROUND_TRUTH.md.

One place for them so the page, the wire, the tests and the site profile agree. Each
constant maps a UI language ("en", "zh") to its text. The Chinese texts use full-width
punctuation (U+FF0C ，and U+3002 。) exactly as the real site does: a detector that
normalises them away would miss the real thing.
"""

from __future__ import annotations

# 2025 form: the whole reply inside the answer bubble.
BUSY_INLINE = {
    "en": "The server is busy. Please try again later.",
    "zh": "服务器繁忙，请稍后再试。",
}

# 2026 form [3P]: an error row (or toast) instead of a reply; also the hint's content.
BUSY_ROW = {
    "en": "Server busy, please try again later.",
    "zh": "服务器繁忙，请稍后再试。",
}

RATE_LIMIT = {
    "en": "You are sending messages too frequently. Please try again later.",
    "zh": "消息发送过于频繁，请稍后重试",
}

RETRY_LABEL = {"en": "Retry", "zh": "重试"}

# The 2026 markup's controls [3P]: the capture shows the Chinese labels next to the English
# busy text, so both UI languages use them. 重试 (Retry) is the warning-styled button in
# the person's turn of a busy turn, 复制 (Copy) the action bar's first button.
RETRY_LABEL_2026 = "重试"
COPY_LABEL_2026 = "复制"

NEW_CHAT = {"en": "New chat", "zh": "开启新对话"}

PLACEHOLDER = {"en": "Message DeepSeek", "zh": "给 DeepSeek 发送消息"}

ERROR_GENERIC = {
    "en": "Something went wrong. Please try again.",
    "zh": "出错了，请重试。",
}

# Labels of controls that the DOM contract names in English on purpose (aria-label
# selectors stay stable across languages), kept here so the page has no stray strings.
SEND_LABEL = "Send"
UPLOAD_LABEL = "Upload image"

# What the normal answer says when the prompt asks for nothing in particular.
DEFAULT_ANSWER_PREFIX = "This is the simulated chat. You said: "

# OpenAI-compatible API error messages (documented DeepSeek API error names).
API_AUTH_FAILED = "Authentication Fails (no such user)"
API_OVERLOADED = "Server Overloaded"
API_RATE_LIMITED = "Rate Limit Reached"
API_INVALID_FORMAT = "Invalid Format"


def busy_text(busy_form: str, lang: str) -> str:
    """The busy text a given busy form shows: inline uses the 2025 text, row/toast the 2026 one."""
    return (BUSY_INLINE if busy_form == "inline" else BUSY_ROW)[lang]


# -- the plain skin ---------------------------------------------------------------------
# A generic chat of the simulator's own invention, not copied from any site: its texts
# share no words with DeepSeek's, so a detector that only knows "server busy" misses them.

PLAIN_BUSY = {
    "en": "We're experiencing high demand. Please try again in a moment.",
    "zh": "当前请求量过大，请稍后重试。",
}

PLAIN_RATE_LIMIT = {
    "en": "You've reached the message limit. Please wait a minute before sending more.",
    "zh": "发送过于频繁，请稍后再试。",
}

PLAIN_ERROR_GENERIC = {
    "en": "Something went wrong while generating the response.",
    "zh": "生成回复时出错。",
}

PLAIN_RETRY_LABEL = {"en": "Try again", "zh": "重试"}

PLAIN_NEW_CHAT = {"en": "Start over", "zh": "新建会话"}

PLAIN_PLACEHOLDER = {"en": "Ask anything…", "zh": "有问题，尽管问"}

# English in every language on purpose, like the DeepSeek skin's labels: aria-label
# selectors stay stable across languages.
PLAIN_SUBMIT_LABEL = "Submit"
PLAIN_ATTACH_LABEL = "Attach image"

# What the plain skin's server says when the web client sends no token (401).
PLAIN_AUTH_FAILED = "Your session has expired. Please sign in again."
