"""Property-based fuzzing (Hypothesis) of everything a person can hand the loader.

Playbooks, site profiles and `when:` expressions are generated valid, then broken: a
value swapped for something hostile (a 5,000-digit number, 200 nested lists, NUL bytes,
an anchor bomb), keys dropped or misspelt, bytes of the YAML text flipped or cut. Every
one must load or end in a PlaybookError (exit 2) with a message; never another
exception, never past the time limit. No browser starts: valid playbooks are only
loaded, and the CLI examples carry a step that fails validation.

The budget of examples is fixed and the seed is fixed too (ASSISTANT_FUZZ_SEED changes
it); a failure prints the seed and the falsifying example.
"""

from __future__ import annotations

import os

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st

from assistant.cli import cli
from assistant.errors import AssistantError, ExitCode
from assistant.playbook import load_playbook
from assistant.playbook import when as conditions

SEED = int(os.environ.get("ASSISTANT_FUZZ_SEED", "20261"))
BUDGET = settings(max_examples=int(os.environ.get("ASSISTANT_FUZZ_EXAMPLES", "150")), deadline=3000, database=None, suppress_health_check=list(HealthCheck))

durations = st.one_of(st.sampled_from(["5s", "500ms", "2m", "1h", "0", "1.5"]), st.integers(0, 100))
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
outcomes = st.sampled_from(["busy", "rate_limited", "timeout", "error"])

ATOMS = ["failed", "passed", "previous.outcome", "previous.result", "steps.1.outcome", "vars.prompt", "'busy'", "'x'", "1", "true"]


@st.composite
def when_texts(draw, depth: int = 0) -> str:
    """A `when:` expression from the grammar (valid or nearly: names are picked, not checked)."""
    if depth > 3 or draw(st.booleans()):
        left, right = draw(st.sampled_from(ATOMS)), draw(st.sampled_from(ATOMS))
        op = draw(st.sampled_from(["==", "!=", "in", "not in", "and", "or"]))
        return f"{left} {op} {right}"
    inner = draw(when_texts(depth + 1))
    return draw(st.sampled_from([f"not ({inner})", f"({inner}) and failed", f"({inner}) or passed", inner]))


policies = st.fixed_dictionaries({}, optional={
    "schedule": st.lists(durations, min_size=1, max_size=4),
    "max_attempts": st.integers(1, 10),
    "when": st.lists(outcomes, min_size=1, max_size=3),
    "budget": durations,
    "retry_after": st.booleans(),
})
simple_steps = st.one_of(
    st.just("new_chat"),
    st.builds(lambda p: {"open": p}, st.sampled_from(["/", "/chat", "https://example.com/"])),
    st.builds(lambda t: {"send": t}, texts),
    st.builds(lambda d: {"wait": d}, durations),
    st.builds(lambda t: {"expect_visible": t}, st.sampled_from(["image_upload", "div.reply", "text=Send", "button:has-text('x')"])),
    st.builds(lambda c, r: {"expect_reply": {"contains": c, "timeout": "5s", "retry": r}}, texts, policies),
)
steps = st.lists(simple_steps, min_size=1, max_size=6).flatmap(
    lambda items: st.one_of(
        st.just(items),
        st.builds(lambda w: [*items, {"retry": {"schedule": ["5s"], "steps": items, "when": w}}], when_texts()),
        st.builds(lambda w: [*items, {"wait": {"duration": "1s", "when": w}}], when_texts()),
    )
)
site_profiles = st.fixed_dictionaries(
    {"url": st.sampled_from(["http://127.0.0.1:8765", "https://chat.example.com", "http://[::1]:9000/"])},
    optional={
        "selectors": st.fixed_dictionaries({}, optional={
            "composer": st.sampled_from(["textarea", "#chat-input", "role=textbox"]),
            "reply": st.sampled_from(["div.reply", ".ds-markdown", "[data-role=assistant]"]),
        }),
        "busy_texts": st.fixed_dictionaries({}, optional={"busy": st.lists(texts.filter(str.strip), min_size=1, max_size=3)}),
        "features": st.dictionaries(st.sampled_from(["image_upload", "search"]), st.sampled_from(["input[type=file]", "button.search"])),
    },
)
playbooks = st.fixed_dictionaries(
    {"site": st.just("./site.yaml"), "steps": steps},
    optional={"name": texts, "vars": st.dictionaries(st.sampled_from(["prompt", "mode"]), texts), "retry": policies,
              "browser": st.fixed_dictionaries({}, optional={"headless": st.booleans(),
                                                               "viewport": st.fixed_dictionaries({"width": st.integers(1, 4000), "height": st.integers(1, 4000)})})},
)

HOSTILE = [
    10 ** 400, -(10 ** 30), 1e308, float("inf"), "9" * 5000, "\x00\x7f", "${", "${nope}", "${env:ASSISTANT_FUZZ_UNSET}",
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], {"x": {"y": {"z": None}}}, [], {}, None, True, "",
    "div[[[", "(" * 300, "steps." + "9" * 30 + ".outcome", "é" * 3000, ["1s"] * 1500,
]


def paths(value, prefix=()):
    """Every (path, value) inside a nested structure, the root included."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


def replaced(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


@st.composite
def broken(draw, documents):
    """A document from `documents`, broken in one of several ways, as YAML text."""
    doc = draw(documents)
    how = draw(st.sampled_from(["value", "key", "drop", "bytes", "cut", "bomb", "none"]))
    spots = list(paths(doc))
    path, _ = draw(st.sampled_from(spots))
    if how == "value":
        doc = replaced(doc, path, draw(st.sampled_from(HOSTILE)))
    elif how in ("key", "drop") and path and isinstance(_at(doc, path[:-1]), dict):
        parent = dict(_at(doc, path[:-1]))
        moved = parent.pop(path[-1])
        if how == "key":
            parent[f"{path[-1]}x"] = moved
        doc = replaced(doc, path[:-1], parent)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10 ** 6)
    if how == "bytes" and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(["\x00", "\x7f", "&a [*a]", ": :", "\t", "{", "*x", "!!python/object:os.system", "\ufeff"])) + text[at:]
    elif how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "bomb":
        levels = "\n".join(f"x-{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 8))
        text = "x-0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + levels + "\n" + text
    return text


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def loads_or_says_why(path) -> None:
    """The loader's contract: a Playbook, or a PlaybookError (exit 2) with a message; nothing else."""
    try:
        load_playbook(path)
    except AssistantError as exc:
        assert exc.exit_code == ExitCode.BAD_INPUT, exc
        assert str(exc).strip()
        assert "Traceback" not in str(exc)


@seed(SEED)
@BUDGET
@given(playbook=broken(playbooks), site=site_profiles)
def test_broken_playbooks_load_or_say_why(tmp_path_factory, playbook, site):
    note(f"seed {SEED} (set ASSISTANT_FUZZ_SEED to change it)")
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "site.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
    (folder / "pb.yaml").write_text(playbook, encoding="utf-8")
    loads_or_says_why(folder / "pb.yaml")


@seed(SEED)
@BUDGET
@given(site=broken(site_profiles))
def test_broken_site_profiles_load_or_say_why(tmp_path_factory, site):
    note(f"seed {SEED} (set ASSISTANT_FUZZ_SEED to change it)")
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "site.yaml").write_text(site, encoding="utf-8")
    (folder / "pb.yaml").write_text("site: ./site.yaml\nsteps: [new_chat]\n", encoding="utf-8")
    loads_or_says_why(folder / "pb.yaml")


@seed(SEED)
@BUDGET
@given(text=st.one_of(when_texts(), when_texts().flatmap(lambda w: st.builds(
    lambda at, junk: w[:at] + junk + w[at:], st.integers(0, len(w)), st.sampled_from(["(", ")", "'", "[", "9" * 40, ".", "==", "\x00"])))))
def test_when_expressions_parse_or_point_at_a_column(text):
    note(f"seed {SEED}")
    try:
        cond = conditions.parse(text)
    except conditions.WhenSyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 61 and exc.message
        return
    cond.holds([], {"prompt": "hi"})  # no earlier steps: every reference reads as unknown, never raises


@seed(SEED)
@settings(max_examples=15, deadline=5000, database=None, suppress_health_check=list(HealthCheck))
@given(playbook=broken(playbooks), site=site_profiles)
def test_the_cli_run_ends_in_a_documented_exit_code(tmp_path_factory, playbook, site):
    note(f"seed {SEED}")
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "site.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
    # An unknown step at the end: whatever else holds, validation fails, so no browser starts.
    (folder / "pb.yaml").write_text(playbook + "\nx-never-run: 1\n" if "steps:" not in playbook else
                                    playbook.replace("steps:", "steps:\n- not_a_step\n", 1) if "steps:\n" in playbook else playbook,
                                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(folder / "pb.yaml"), "--json", str(folder / "r.json")])
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.exception
    assert result.exit_code in (1, 2, 3), result.stderr  # 3 only if a report could not be written
    assert "Traceback" not in result.output and result.stderr.strip()
    assert "chromium" not in result.stderr



# The machine-exhausting inputs, loaded in a process limited to 500 MB of address
# space: each must end in its positioned error (exit 2) without a MemoryError.
EXHAUSTING = r'''
import os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (500 * 2**20, 500 * 2**20))
from pathlib import Path
from assistant.errors import PlaybookError
from assistant.playbook import load_playbook

folder = Path(sys.argv[1])
head = "site: simulator\nsteps:\n"
bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
bomb += [f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]" for i in range(1, 9)]
cases = {
    "alias-bomb.yaml": "site: simulator\nx-bomb:\n" + "\n".join("  " + line for line in bomb) + "\nsteps: [new_chat]\n",
    "50mb.yaml": head + "  - send: '" + "x" * 50_000_000 + "'\n",
    "schedule.yaml": head + "  - expect_reply: {contains: a, retry: {schedule: [" + "1s, " * 1_000_000 + "1s]}}\n",
    "include-zero.yaml": "include: [/dev/zero]\n" + head + "  - new_chat\n",
}
for name, text in cases.items():
    (folder / name).write_text(text)
for name in [*cases, "/dev/zero"]:
    try:
        load_playbook(folder / name)
    except PlaybookError as exc:
        print(name, "refused:", str(exc).splitlines()[0][:120])
    else:
        print(name, "loaded")
'''


def test_inputs_that_exhausted_the_machine_are_refused_within_500_mb(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", EXHAUSTING, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "MemoryError" not in done.stderr, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and all(" refused: " in line for line in lines), done.stdout
