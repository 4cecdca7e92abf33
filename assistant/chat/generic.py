"""Busy detection for a chat the tool has no profile for: where a message shows, and its words.

A site profile's exact texts and selectors say for certain what one chat shows. A chat with
no profile (`site: generic`, or a profile that leaves keys out) is read from two weaker
signals instead: WHERE a message shows (alert and status regions, toasts, error-styled
rows, a reply bubble that holds nothing but an error) and its overload VOCABULARY. The
vocabulary is the one place that knows how chats word "busy", "too many requests" and
"something broke", in English and Chinese; everything else asks `classify` or `error_only`.
"""

from __future__ import annotations

import re
import unicodedata


def normalize(text: str) -> str:
    """Fold width and case, collapse spaces, unify apostrophes: for comparing UI texts."""
    folded = unicodedata.normalize("NFKC", text).replace("\u2019", "'").casefold()
    return re.sub(r"\s+", " ", folded).strip()


# (outcome, pattern), first match wins: a rate limit is named before a busy server, a busy
# server before a generic error, and a bare "try again later" (no cause named) comes last.
# Patterns run on normalize()d text: case-folded, NFKC (full-width "，" is ","), ' for ’.
VOCABULARY: tuple[tuple[str, re.Pattern], ...] = tuple(
    (outcome, re.compile(pattern))
    for outcome, pattern in (
        ("rate_limited", r"too many (requests|messages)|rate[ _-]?limit(ed|s|_\w+)?\b(?!ing)"),
        ("rate_limited", r"\b(message|usage|request|daily|hourly) (cap|limit)|reached (the|your) [\w ]{0,20}limit"),
        ("rate_limited", r"too (frequently|often|fast|quickly)|quota (exceeded|reached)|exceeded (the|your) quota"),
        ("rate_limited", r"过于频繁|太频繁|频率过高|次数过多|达到.{0,6}上限|额度已用完|限流|请求(过多|太多)"),
        ("rate_limited", r"\bslow down\b|(hit|exceeded|reached) (the|your|a) (usage|rate|message) (limit|cap)"),
        ("busy", r"\b(server|servers|service|system|model|we)( is|'s| are|'re)?( currently| very| too)? (busy|overloaded|at capacity)"),
        ("busy", r"overload(ed)?|over capacity|at capacity|high (demand|traffic|load)|heavy (load|traffic)"),
        ("busy", r"temporarily unavailable|service unavailable|insufficient[ _]system[ _]resource"),
        ("busy", r"繁忙|请求量过大|访问量过大|负载过高|人数(过多|较多)|服务不可用|算力不足|资源不足|排队中|正在排队"),
        ("busy", r"experiencing (high|heavy|unusual|exceptionally high) (traffic|load|volume|demand)|too many (people|users)|no (available )?capacity|capacity (limit|constraint)s?"),
        ("error", r"went wrong|an? (\w+ )?error (has )?occurred|error (occurred|generating)"),
        ("error", r"\b(network|connection|internal|server|unknown|unexpected) error|failed to (generate|send|load|fetch|get)"),
        ("error", r"under maintenance|出错|错误|失败|异常|维护"),
        ("busy", r"(try|retry) (again )?(later|soon|shortly|in (a|some|a few) (moment|minutes?|seconds?|while))|come back later"),
        ("busy", r"稍后(再试|重试|尝试|再来)"),
    )
)

# Words an error message surrounds its cause with: apologies and what to do next.
COURTESY = re.compile(r"sorry|apologi[sz]e|unfortunately|oops|please|retry|try again|refresh|reload|later|wait|抱歉|对不起|请|重试|刷新|稍后")
# Signs that a text talks ABOUT an error instead of being one: quoting it, explaining it.
DISCUSSION = re.compile(
    r"(^|[\s(:])[\"'“‘「『]|[\"”’」』]($|[\s.,;:!?)])"
    r"|\b(means?|meaning|why|because|for example|e\.g\.|shows?|says|displays?|here's|here is|you see|you may see)\b"
    r"|意思|为什么|因为|例如|比如|显示|是指|表示"
)
SENTENCES = re.compile(r"(?<=[.!?;])\s+|[。！？；\n]+")
ERROR_ONLY_MAX = 240  # an error bubble is a sentence or two; CJK characters count double
ERROR_ONLY_SENTENCES = 3

# Where a chat shows an error, as CSS watched inside the page, in the order they are
# tried: an element matched by an earlier kind is not counted again by a later one.
BOX_CSS: dict[str, tuple[str, ...]] = {
    "toast": ('[class*="toast" i]', '[class*="snackbar" i]', '[class*="notification" i]'),
    "error_row": (
        '[class*="error" i]', '[class*="danger" i]', '[class*="notice" i]',
        '[class*="warning" i]', '[class*="alert" i]', '[class*="banner" i]',
    ),
    "alert": ("[role=alert]", "[role=status]", "[aria-live]:not([aria-live=off])"),
}
# The bot's reply: its role in data-* attributes, or a class name that says so. When none
# matches, the watcher takes the newest block that appeared after the send instead.
REPLY_CSS: tuple[str, ...] = (
    '[data-message-author-role="assistant"]', '[data-author="bot"]', '[data-author="assistant"]',
    '[data-role="assistant"]', '[data-role="bot"]', '[data-sender="bot"]', '[data-sender="assistant"]',
    '[class*="assistant" i]', '[class*="markdown" i]', '[class*="prose" i]', '[class*="answer" i]',
    '[class*="response" i]', '[class~="bot" i]', '[class*="bot-message" i]', '[class*="message--bot" i]',
)
# The request that carries a reply, when the response does not say text/event-stream.
STREAM_PATH = re.compile(r"completion|conversation|generat|/chat/?$|/messages?/?$|/stream|/ask\b|/prompt")


def classify(text: str) -> tuple[str, str] | None:
    """(outcome, the words that decided it) when `text` holds overload or error wording anywhere."""
    norm = normalize(text)
    for outcome, pattern in VOCABULARY:
        match = pattern.search(norm)
        if match:
            return outcome, match.group(0)
    return None


def _width(text: str) -> int:
    return len(text) + sum(1 for ch in text if "\u2e80" <= ch <= "\u9fff")


def error_only(text: str) -> tuple[str, str] | None:
    """`classify(text)` when the text is nothing BUT an error: short, every sentence error
    wording or courtesy around it, nothing quoted or explained. A reply that discusses
    "Server busy" is an answer; a bubble that says only "Server busy" is not."""
    norm = normalize(text)
    if not norm or _width(norm) > ERROR_ONLY_MAX or DISCUSSION.search(norm):
        return None
    sentences = [s for s in SENTENCES.split(norm) if s.strip(" .,;:!?")]
    if len(sentences) > ERROR_ONLY_SENTENCES:
        return None
    if not all(COURTESY.search(s) or any(p.search(s) for _, p in VOCABULARY) for s in sentences):
        return None
    return classify(norm)


def is_reply_request(method: str, path: str) -> bool:
    """Whether a request looks like the one that sends the message and carries the reply,
    for chats whose stream is not text/event-stream or that refuse before streaming."""
    return method.upper() == "POST" and STREAM_PATH.search(path.lower()) is not None
