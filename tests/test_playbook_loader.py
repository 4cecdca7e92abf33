"""The playbook and site-profile loader: what it builds, and how it reports what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import PlaybookError
from assistant.playbook import load_playbook, load_site, parse_duration
from assistant.playbook.model import Exponential, RetryPolicy
from assistant.steps import registry
from tests.conftest import error_of

DATA = Path(__file__).parent / "data" / "playbooks"
SITE = "url: http://127.0.0.1:9\n"




def test_valid_playbook_round_trip():
    pb = load_playbook(DATA / "valid.yaml")
    assert pb.name == "Simulated chat answers after busy spells"
    assert pb.site.name == "simulator" and pb.site.url == "http://127.0.0.1:8765"
    assert (pb.browser.headless, pb.browser.locale, pb.browser.viewport) == (
        False,
        "en-US",
        (1280, 800),
    )
    assert pb.vars == {"prompt": "Reply with the single word: pong", "attempts": "4"}
    assert pb.source == (DATA / "valid.yaml").read_text(encoding="utf-8")
    kinds = [(s.kind, s.params) for s in pb.steps]
    assert kinds == [
        ("open", {"url": "/"}),
        ("new_chat", {}),
        ("send", {"text": "Reply with the single word: pong"}),
        ("expect_reply", {"contains": "pong", "timeout": 60.0}),
        ("expect_reply", {"contains": "pong", "timeout": 60.0}),
        ("expect_reply", {"matches": "^p[o0]ng$", "timeout": 0.5}),
        ("expect_visible", {"target": "image_upload"}),
        ("wait", {"duration": 1.5}),
        ("screenshot", {"name": "after-reply", "full_page": True}),
        ("retry", {}),
    ]
    on_busy = RetryPolicy(schedule=(5.0, 10.0, 30.0), max_attempts=4)
    assert pb.steps[3].retry == on_busy  # from an alias
    assert pb.steps[4].retry == RetryPolicy(
        when=("busy",), schedule=(5.0, 10.0, 30.0), max_attempts=2
    )
    assert pb.steps[5].retry.exponential == Exponential(
        initial=1.0, factor=2, cap=120.0, jitter=0.1
    )
    assert pb.steps[0].retry is None and pb.steps[2].retry is None
    block = pb.steps[-1]
    assert block.is_block and block.retry == on_busy
    assert [(s.kind, s.params) for s in block.steps] == [
        ("send", {"text": "literal ${prompt} stays"}),
        ("expect_reply", {"contains": "pong"}),
    ]
    assert str(pb.steps[0].pos).endswith("valid.yaml:10:5")
    assert (block.pos.line, block.steps[1].pos.line, block.steps[1].pos.col) == (19, 23, 11)


def test_default_retry_applies_to_retryable_steps_only():
    pb = load_playbook(DATA / "default-retry.yaml")
    default = RetryPolicy(schedule=(1.0, 2.0))
    a, b, c, d, send, block = pb.steps
    assert a.retry == default
    assert b.retry is None  # retry: false
    assert c.retry == RetryPolicy(schedule=(9.0,))
    assert d.retry == default  # retry: true
    assert send.retry is None  # send is not retryable
    assert block.retry == default  # a block without policy keys takes the default
    assert block.steps[0].retry is None  # the block retries; no nested multiplication


def test_error_block_format(write):
    path = write("""
        site: simulator
        steps:
          - send: hi
          - expct_reply: {contains: pong}
          - screenshot
        """)
    assert error_of(path) == (
        "pb.yaml:4:5: unknown step 'expct_reply'\n"
        "    3 |   - send: hi\n"
        ">   4 |   - expct_reply: {contains: pong}\n"
        "    5 |   - screenshot\n"
        "Did you mean 'expect_reply'? Known steps: " + ", ".join([*sorted(registry()), "retry"])
    )


BAD = [
    pytest.param(
        "steps: [open: /]\nsite: simulator\nretyr: {}\n",
        ["pb.yaml:3:1: unknown key 'retyr' in the playbook", "Did you mean 'retry'?"],
        id="unknown-top-key",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply: {contans: pong}\n",
        [
            "pb.yaml:3:20: unknown key 'contans' in expect_reply",
            "Did you mean 'contains'?",
            "Known keys: contains, matches, timeout, optional, when, retry",
        ],
        id="unknown-param-key",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply: {retry: {schedul: [5s]}}\n",
        ["pb.yaml:3:28: unknown key 'schedul' in expect_reply.retry", "Did you mean 'schedule'?"],
        id="unknown-retry-key",
    ),
    pytest.param(
        "site: simulator\nretry: {exponential: {intial: 1s}}\nsteps: [new_chat]\n",
        ["pb.yaml:2:23: unknown key 'intial' in retry.exponential", "Did you mean 'initial'?"],
        id="unknown-nested-retry-key",
    ),
    pytest.param(
        "site: simulator\nbrowser: {headles: true}\nsteps: [new_chat]\n",
        ["pb.yaml:2:11: unknown key 'headles' in browser", "Did you mean 'headless'?"],
        id="unknown-browser-key",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - send: 42\n",
        ["pb.yaml:3:11: send.text: expected a string, got a whole number (42)", "quotes"],
        id="wrong-type-number",
    ),
    pytest.param(
        "site: simulator\nbrowser: {headless: maybe}\nsteps: [new_chat]\n",
        ["pb.yaml:2:21: browser.headless: expected true or false, got a string ('maybe')"],
        id="wrong-type-bool",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply: {retry: {max_attempts: 0}}\n",
        ["pb.yaml:3:42: expect_reply.retry.max_attempts: must be at least 1, got 0"],
        id="max-attempts-zero",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply: {retry: {when: [bussy]}}\n",
        ["expect_reply.retry.when[0]: 'bussy' is not one of", "Did you mean 'busy'?"],
        id="bad-enum",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - wait: 5 sec\n",
        ["pb.yaml:3:11: wait.duration: bad duration '5 sec'", "500ms, 5s, 2m, 1h"],
        id="bad-duration",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply: {timeout: -1}\n",
        ["pb.yaml:3:29: expect_reply.timeout: bad duration -1"],
        id="negative-duration",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply: {matches: '(pong'}\n",
        ["pb.yaml:3:29: expect_reply.matches: bad regular expression '(pong'", "missing )"],
        id="bad-regex",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - expect_reply:\n    contains: pong\n",
        [
            "pb.yaml:3:5: a step item has one key, the step name; this one has 2: expect_reply, contains",
            "indent a step's parameters",
        ],
        id="two-keys-in-item",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - [open]\n",
        ["pb.yaml:3:5: a step is a name or `name: value`, got a list"],
        id="step-is-a-list",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - send\n",
        ["pb.yaml:3:5: step 'send' needs a value", "Example: - send:"],
        id="step-needs-value",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - new_chat: now\n",
        ["pb.yaml:3:15: step 'new_chat' takes no value"],
        id="step-takes-no-value",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - send: {text: hi, retry: {}}\n",
        ["pb.yaml:3:22: step 'send' cannot be retried on its own", "retry block"],
        id="retry-on-non-retryable",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - retry: {schedule: [5s]}\n",
        ["pb.yaml:3:12: retry needs 'steps'"],
        id="block-without-steps",
    ),
    pytest.param(
        "site: simulator\nsteps:\n  - retry: 3\n",
        ["pb.yaml:3:12: a retry block is a mapping: policy keys plus `steps:`"],
        id="block-not-a-mapping",
    ),
    pytest.param(
        "site: simulator\nsteps: []\n",
        ["pb.yaml:2:8: steps: needs at least 1 item(s)"],
        id="empty-steps",
    ),
    pytest.param("site: simulator\n", ["pb.yaml:1:1: the playbook has no `steps:`"], id="no-steps"),
    pytest.param("- open: /\n", ["pb.yaml:1:1: a playbook is a mapping"], id="not-a-mapping"),
    pytest.param("", ["pb.yaml:1:1: a playbook is a mapping"], id="empty-file"),
    pytest.param(
        "site: simulator\nsite: deepseek\nsteps: [new_chat]\n",
        ["pb.yaml:2:1: duplicate key 'site' (first at line 1)"],
        id="duplicate-key",
    ),
    pytest.param(
        'site: simulator\nsteps:\n  - send: "${promt}"\nvars: {prompt: hi}\n',
        ["pb.yaml:3:11: unknown variable 'promt'", "Did you mean 'prompt'?", "--var"],
        id="unknown-variable",
    ),
    pytest.param(
        'site: simulator\nsteps:\n  - send: "${oops"\n',
        ["pb.yaml:3:11: unterminated '${'", "$${"],
        id="unterminated-variable",
    ),
    pytest.param(
        'site: simulator\nsteps:\n  - send: "${env:ASSISTANT_SURELY_UNSET}"\n',
        ["pb.yaml:3:11: environment variable ASSISTANT_SURELY_UNSET is not set", "export ASSISTANT_SURELY_UNSET="],
        id="env-unset",
    ),
    pytest.param(
        "steps: [new_chat]\n",
        ["pb.yaml:1:1: the playbook names no site", "deepseek, generic, simulator"],
        id="no-site",
    ),
    pytest.param(
        "site: simulatr\nsteps: [new_chat]\n",
        [
            "pb.yaml:1:7: unknown site 'simulatr'",
            "Did you mean 'simulator'?",
            "Known sites: deepseek, generic, simulator",
        ],
        id="unknown-site-name",
    ),
    pytest.param(
        "site: ./nowhere.yaml\nsteps: [new_chat]\n",
        ["pb.yaml:1:7: site profile not found: nowhere.yaml"],
        id="site-path-missing",
    ),
    pytest.param(
        "site: simulator\nx: &a [*a]\nsteps: [new_chat]\n",
        ["pb.yaml:2:4: invalid YAML: an anchor contains an alias to itself"],
        id="recursive-alias",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_playbook(write, text, expected):
    message = error_of(write(text))
    for fragment in expected:
        assert fragment in message
    assert "Traceback" not in message


def test_malformed_yaml_is_positioned_without_traceback(write):
    path = write("site: simulator\nsteps:\n  - send: hi: there\n")
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    message = str(info.value)
    assert message.startswith("pb.yaml:3:13: invalid YAML: mapping values are not allowed here\n")
    assert ">   3 |   - send: hi: there" in message
    assert "Traceback" not in message and "yaml." not in message
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_missing_file(write):
    message = error_of(Path("no/such/playbook.yaml"))
    assert message.startswith("playbook not found: no/such/playbook.yaml")


def test_all_errors_reported_in_file_order(write):
    path = write("site: simulator\nsteps:\n  - expct_reply\n  - wait: soon\nbrowzer: {}\n")
    message = error_of(path)
    heads = [line for line in message.splitlines() if line.startswith("pb.yaml:")]
    assert [h.split(": ")[0] for h in heads] == ["pb.yaml:3:5", "pb.yaml:4:11", "pb.yaml:5:1"]


def test_variables_overridden_and_escaped(write):
    path = write("""
        site: simulator
        vars: {prompt: from-file, n: 3, on: true}
        steps:
          - send: "${prompt} ${ n } ${on} $${prompt} costs $$5"
          - wait: "${n}"
        """)
    pb = load_playbook(path, variables={"prompt": "from-cli"})
    assert pb.steps[0].params["text"] == "from-cli 3 true ${prompt} costs $$5"
    assert pb.steps[1].params["duration"] == 3.0
    assert pb.vars["prompt"] == "from-cli"


def test_escape_survives_an_alias_used_twice(write):
    path = write("""
        site: simulator
        vars: {a: A}
        x-text: &text "${a} $${a}"
        steps:
          - send: *text
          - send: *text
        """)
    assert [s.params["text"] for s in load_playbook(path).steps] == ["A ${a}", "A ${a}"]


def test_variable_given_only_on_the_command_line(write):
    path = write("site: simulator\nsteps:\n  - send: ${msg}\n")
    assert load_playbook(path, variables={"msg": "hi"}).steps[0].params == {"text": "hi"}


def test_x_keys_and_merge_keys_at_top_level(write):
    path = write("""
        x-common: &common {site: simulator, browser: {headless: true}}
        <<: *common
        steps: [new_chat]
        """)
    pb = load_playbook(path)
    assert pb.site.name == "simulator" and pb.name == "pb"


@pytest.mark.parametrize(
    ("playbook", "kwargs", "site_name", "url"),
    [
        pytest.param("valid.yaml", {}, "simulator", "http://127.0.0.1:8765", id="shipped-by-name"),
        pytest.param(
            "local-site.yaml", {}, "local-chat", "http://127.0.0.1:9999", id="playbook-sites-folder"
        ),
        pytest.param(
            "site-by-path.yaml",
            {},
            "local-chat",
            "http://127.0.0.1:9999",
            id="path-relative-to-playbook",
        ),
        pytest.param(
            "valid.yaml",
            {"site": "deepseek"},
            "deepseek",
            "https://chat.deepseek.com",
            id="override-by-name",
        ),
        pytest.param(
            "valid.yaml",
            {"site": str(DATA / "sites" / "local.yaml")},
            "local-chat",
            "http://127.0.0.1:9999",
            id="override-by-path",
        ),
        pytest.param(
            "valid.yaml",
            {"url": "http://127.0.0.1:5555"},
            "simulator",
            "http://127.0.0.1:5555",
            id="url-override",
        ),
    ],
)
def test_site_resolution(playbook, kwargs, site_name, url):
    pb = load_playbook(DATA / playbook, **kwargs)
    assert (pb.site.name, pb.site.url) == (site_name, url)


def test_site_override_path_is_relative_to_the_working_folder(monkeypatch):
    monkeypatch.chdir(DATA)
    pb = load_playbook("valid.yaml", site="sites/local.yaml")
    assert pb.site.name == "local-chat" and pb.site.path == DATA / "sites" / "local.yaml"


def test_local_site_profile_converts_to_tuples():
    site = load_playbook(DATA / "local-site.yaml").site
    assert site.selectors == {"composer": ("textarea",), "reply": ("div.reply", ".markdown")}
    assert site.busy_texts == {"busy": ("Busy now",)}
    assert site.status_page == ("http://127.0.0.1:9999/status",)
    assert site.api is None and site.stream.kind == "sse"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {"site": "deepsek"},
            "site override: unknown site 'deepsek'\nDid you mean 'deepseek'?",
            id="bad-site-override",
        ),
        pytest.param(
            {"url": "chat.example.com"},
            "url override: 'chat.example.com' is not an http(s) URL",
            id="bad-url-override",
        ),
    ],
)
def test_bad_overrides(kwargs, expected):
    assert expected in error_of(DATA / "valid.yaml", **kwargs)


def test_shipped_simulator_profile():
    site = load_site("simulator")
    assert site.url == "http://127.0.0.1:8765"
    assert site.selectors["reply"] == ("div.message--assistant .ds-markdown--block",)
    assert site.selectors["send"] == ('div[role=button][aria-label="Send"]',)
    assert "服务器繁忙，请稍后再试。" in site.busy_texts["busy"]
    assert site.features == {"image_upload": ('label.upload-button[aria-label="Upload image"]',)}
    assert site.api.key_env == "SIMULATOR_API_KEY" and site.stream.paths == (
        "/api/v0/chat/completion",
    )


def test_shipped_deepseek_profile():
    site = load_site("deepseek")
    assert site.url == "https://chat.deepseek.com"
    assert {
        "textarea#chat-input",
        'textarea[placeholder="Message DeepSeek"]',
        'textarea[placeholder="给 DeepSeek 发送消息"]',
    } == set(site.selectors["composer"])
    assert {"div.ds-markdown", ".ds-markdown--block", ".ds-assistant-message-main-content"} == set(
        site.selectors["reply"]
    )
    busy = site.busy_texts["busy"]
    assert "Server busy, please try again later." in busy
    assert (
        "Sorry, DeepSeek\u2019s search service is busy. Please disable search or try again in a few minutes."
        in busy
    )
    assert "服务器繁忙\uff0c请稍后再试\u3002" in busy
    assert site.busy_texts["rate_limited"] == ("消息发送过于频繁，请稍后重试",)
    assert site.status_page == ("https://status.deepseek.com", "https://deepseek.statuspage.io")
    assert site.api.base == "https://api.deepseek.com" and site.api.key_env == "DEEPSEEK_API_KEY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            SITE + "selectors: {reply: 'text=Busy'}\n",
            "a Playwright 'text=' selector, but this selector must be CSS",
            id="reply-text-engine",
        ),
        pytest.param(
            SITE + "selectors: {reply: [div.ok, '//div']}\n",
            "site.yaml:2:29: site profile.selectors.reply[1]: '//div' is an XPath",
            id="reply-xpath",
        ),
        pytest.param(
            SITE + "selectors: {alert: 'role=alert'}\n", "'role=' selector", id="alert-role-engine"
        ),
        pytest.param(
            SITE + "selectors: {toast: 'internal:text=\"x\"'}\n",
            "'internal:text=' selector",
            id="toast-internal",
        ),
        pytest.param(
            SITE + "selectors: {error_row: 'div:has-text(\"busy\")'}\n",
            "Playwright-only syntax",
            id="error-row-has-text",
        ),
        pytest.param(
            SITE + "selectors: {replie: div}\n",
            "site.yaml:2:13: unknown key 'replie' in site profile.selectors",
            id="unknown-selector-key",
        ),
        pytest.param(
            SITE + "busy_text: {}\n",
            "site.yaml:2:1: unknown key 'busy_text' in site profile\n",
            id="unknown-site-key",
        ),
        pytest.param("name: x\n", "site.yaml:1:1: site profile needs 'url'", id="no-url"),
        pytest.param(
            "url: ftp://x\n", "site profile.url: 'ftp://x' is not an http(s) URL", id="url-not-http"
        ),
        pytest.param(
            SITE + "stream: {kind: grpc}\n",
            "site profile.stream.kind: 'grpc' is not one of sse, websocket",
            id="bad-stream-kind",
        ),
        pytest.param(
            SITE + "api: {key_env: X}\n", "site profile.api needs 'base'", id="api-needs-base"
        ),
    ],
)
def test_bad_site_profile(write, text, expected):
    with pytest.raises(PlaybookError) as info:
        load_site(write(text, "site.yaml"))
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param(
            SITE + "selectors: {replie: div}\n",
            "Did you mean 'reply'? Known keys: composer, send, reply,",
            id="selector-key",
        ),
        pytest.param(
            SITE + "busy_text: {}\n",
            "Did you mean 'busy_texts'? Known keys: name, url,",
            id="site-key",
        ),
        pytest.param(
            SITE + "busy_texts: {bussy: x}\n",
            "Did you mean 'busy'? Known keys: busy, rate_limited, error",
            id="outcome-key",
        ),
    ],
)
def test_site_profile_did_you_mean(write, text, hint):
    with pytest.raises(PlaybookError) as info:
        load_site(write(text, "site.yaml"))
    assert info.value.hint.startswith(hint)


def test_text_selectors_allowed_outside_css_only_keys(write):
    site = load_site(
        write(
            SITE + "selectors: {new_chat: 'text=\"New chat\"', composer: 'role=textbox'}\n",
            "s.yaml",
        )
    )
    assert site.selectors["new_chat"] == ('text="New chat"',)


def test_site_error_inside_a_playbook_points_into_the_site_file(write):
    write(SITE + "selectors: {reply: 'text=Busy'}\n", "sites/mine.yaml")
    message = error_of(write("site: mine\nsteps: [new_chat]\n"))
    assert message.startswith("sites/mine.yaml:2:20: site profile.selectors.reply:")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param(t, s, id=str(t))
        for t, s in [
            ("5s", 5.0),
            ("500ms", 0.5),
            ("2m", 120.0),
            ("1h", 3600.0),
            ("1.5s", 1.5),
            (3, 3.0),
            (0.25, 0.25),
            ("7", 7.0),
            ("0s", 0.0),
        ]
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "5 sec", "-1s", "s", "1d", True, None, float("inf")], ids=repr
)
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# -- variables inside vars: (issue 12, item 3) ------------------------------------------


def test_vars_expand_env_and_other_vars_in_order(tmp_path, monkeypatch):
    path = tmp_path / "p.yaml"
    path.write_text('site: simulator\nvars:\n  who: "${env:NC_WHO:-nobody}"\n  greeting: "hi ${who}, ${later}"\n'
                    '  later: "then $${literal}"\nsteps:\n  - send: "${greeting}"\n', encoding="utf-8")
    monkeypatch.delenv("NC_WHO", raising=False)
    assert load_playbook(path).steps[0].params["text"] == "hi nobody, then ${literal}"
    monkeypatch.setenv("NC_WHO", "ann")
    pb = load_playbook(path, variables={"later": "${not-expanded}"})
    assert pb.vars == {"who": "ann", "greeting": "hi ann, ${not-expanded}", "later": "${not-expanded}"}


def test_a_cycle_in_vars_is_a_positioned_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text('site: simulator\nvars:\n  a: "x ${b}"\n  b: "y ${a}"\nsteps:\n  - send: "${a}"\n', encoding="utf-8")
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    assert "c.yaml:3:6: vars: 'a' refers to itself through a -> b -> a" in str(info.value)


def test_an_unused_var_override_is_warned_with_did_you_mean(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text('site: simulator\nvars:\n  greeting: hi\nsteps:\n  - send: "${greeting}"\n  - send: "${prompt}"\n', encoding="utf-8")
    warnings: list[str] = []
    load_playbook(path, variables={"greting": "x", "prompt": "p", "nosuch": "1"}, warn=warnings.append)
    assert len(warnings) == 2  # prompt is used by a step: no warning
    assert warnings[0].startswith("--var greting: the playbook neither defines nor uses") and "Did you mean 'greeting'?" in warnings[0]
    assert warnings[1].startswith("--var nosuch:")
