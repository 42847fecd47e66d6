"""profiles.yml strings are literals for dbt; only a DbtTemplate is rendered as Jinja.

dbt renders every string value of ``profiles.yml`` through Jinja (its ``ProfileRenderer``),
so ``floe compile`` spells each plain string with :func:`~floe_hooks.compile.dbt_literal`.
The tests without the ``dbt`` marker check the spelling's shape and decode it the way
Jinja's lexer decodes a string literal (``unicode-escape`` of the ASCII-escaped text); the
``dbt`` ones render it with dbt's own renderer (``tox -e dbt``: jinja2 comes with dbt).
"""

from __future__ import annotations

import contextvars
import copy
import os
import pickle
import re
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import floe_hooks
from floe_hooks import (
    DbtTemplate,
    PluginManager,
    compile_product,
    load_product,
    profile_secret,
)
from floe_hooks._yaml import dump_yaml
from floe_hooks.compile import dbt_literal
from floe_hooks.secrets import secret_bindings
from floe_hooks.testing import make_plugin

from .conftest import Project, error

#: Strings dbt's renderer gives back unchanged: written as they are.
UNCHANGED = [
    "models/a b",
    "123",
    "True",
    "None",
    "null",
    "[1, 2]",
    "{'a': 1}",
    "'quoted'",
    '"double"',
    "a\nb",
    "\nleading",
    " x ",
    "",
    "é 中文 🦆",
    "{ x }",
    "a } b { c",
    "100%",
    "# not a comment",
    "line\u2028separator\u0085next",
    "tab\there",
    "nul\x00esc\x1b",
    "back\\slash\\'",
    "$$$DBT_SECRET_START$$$",
]

#: Strings dbt would change (Jinja tags, CR, a final newline) or YAML cannot hold as they are.
ALTERED = [
    "{{ env_var('HOME') }}",
    "{{ env_var('AWS_SECRET_ACCESS_KEY') }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "{# comment #}",
    "{%- raw -%}{{ x }}{% endraw %}",
    "x }}",
    "%}",
    "#}",
    "a\r\nb",
    "a\rb",
    "line\n",
    "--- \n...\n",
    "\ud800 lone surrogate",
    "{{ '1' }}",
    "{{ 1 }}",
    "{{ [1, 2] }}",
    "{{ 'x' | as_native }}",
    "'}}\\'\"{{\n\r\u2028\U0001f986\U000e0001\x00\x7f\x9f",
]

#: Every code point, lone surrogates included (a plugin's str may hold one).
ANY_CHARACTER = st.characters(exclude_categories=())

#: One Jinja expression holding one single-quoted string token, and nothing else.
_LITERAL = re.compile(r"\{\{ '((?:[^'\\]|\\.)*)' \}\}", re.DOTALL)

_AFFECTED = re.compile(r"[{][{%#]|[}%#][}]|[\r\ud800-\udfff]")


def jinja_string_value(token_body: str) -> str:
    """What Jinja's lexer makes of a string token's body (jinja2.lexer, TOKEN_STRING)."""
    return token_body.encode("ascii", "backslashreplace").decode("unicode-escape")


# --------------------------------------------------------------------------- the spelling


@pytest.mark.parametrize("text", UNCHANGED)
def test_strings_dbt_leaves_alone_are_written_as_they_are(text: str) -> None:
    assert dbt_literal(text) == text


@pytest.mark.parametrize("text", ALTERED)
def test_strings_dbt_would_change_become_one_jinja_string_literal(text: str) -> None:
    spelled = dbt_literal(text)
    match = _LITERAL.fullmatch(spelled)
    assert match is not None, spelled
    assert jinja_string_value(match[1]) == text
    assert all(char.isprintable() for char in match[1])  # no raw newline, CR, control, U+2028


def test_the_documented_example() -> None:
    assert dbt_literal("{{ env_var('HOME') }}") == "{{ '{{ env_var(\\'HOME\\') }}' }}"
    assert dbt_literal("a\r\nb\n") == "{{ 'a\\r\\nb\\n' }}"


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=ANY_CHARACTER, max_size=60) | st.from_regex(r"[{}%#'\\\n\r a]{0,12}"))
@example("}}{{")
@example("\\x41{{")
@example("\\N{DUCK}{%")
def test_every_string_is_written_as_itself_or_as_a_literal_that_decodes_to_it(text: str) -> None:
    if "DBT_ENV_SECRET" in text:
        return
    spelled = dbt_literal(text)
    needs = bool(_AFFECTED.search(text)) or text.endswith("\n")
    if not needs:
        assert spelled == text
        return
    match = _LITERAL.fullmatch(spelled)
    assert match is not None, spelled
    assert all(char.isprintable() for char in match[1])
    assert jinja_string_value(match[1]) == text


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_the_spelling_survives_the_yaml_dumper(text: str) -> None:
    if "DBT_ENV_SECRET" in text:
        return
    spelled = dbt_literal(text)
    assert yaml.safe_load(dump_yaml({"k": spelled})) == {"k": spelled}


@pytest.mark.parametrize(
    "text",
    [
        "DBT_ENV_SECRET_FOO",
        "x DBT_ENV_SECRET y",
        "$$$DBT_SECRET_START$$$DBT_ENV_SECRET_X$$$DBT_SECRET_END$$$",
        "{{ env_var('DBT_ENV_SECRET_X') }}",
    ],
)
def test_a_literal_holding_the_secret_prefix_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="contains 'DBT_ENV_SECRET', which dbt replaces"):
        dbt_literal(text)


# --------------------------------------------------------------------------- the marker type


def test_dbt_template_is_a_public_str() -> None:
    template = DbtTemplate("{{ env_var('DBT_THREADS') | int }}")
    assert floe_hooks.DbtTemplate is DbtTemplate
    assert "DbtTemplate" in floe_hooks.__all__
    assert isinstance(template, str)
    assert template == "{{ env_var('DBT_THREADS') | int }}"
    assert hash(template) == hash("{{ env_var('DBT_THREADS') | int }}")
    assert repr(template) == "DbtTemplate(\"{{ env_var('DBT_THREADS') | int }}\")"
    assert type(template + "x") is str  # str operations give back a literal
    with pytest.raises(TypeError):
        DbtTemplate(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "duplicate",
    [
        copy.copy,
        copy.deepcopy,
        lambda t: pickle.loads(pickle.dumps(t)),
        lambda t: pickle.loads(pickle.dumps(t, protocol=0)),
        lambda t: copy.deepcopy({"a": [t]})["a"][0],
    ],
)
def test_dbt_template_survives_copies(duplicate: Callable[[Any], Any]) -> None:
    template = DbtTemplate("{{ env_var('X') }}")
    twin = duplicate(template)
    assert type(twin) is DbtTemplate
    assert twin == template


def test_floes_dumper_writes_a_dbt_template_as_its_text() -> None:
    document = {"password": DbtTemplate("{{ env_var('DBT_ENV_SECRET_X') }}")}
    assert yaml.safe_load(dump_yaml(document)) == document


_GLOBAL_DUMPERS = """
import sys, yaml

def outcome(value):
    try:
        return "wrote " + yaml.safe_dump(value).strip()
    except yaml.YAMLError as exc:
        return type(exc).__name__

class Text(str):
    pass

before = outcome(Text("x"))
import floe_hooks
from floe_hooks import DbtTemplate
from floe_hooks._yaml import dump_yaml

after = outcome(DbtTemplate("{{ x }}"))
assert dump_yaml({"a": DbtTemplate("{{ x }}")}) == "a: '{{ x }}'\\n"
print(before, after, yaml.SafeDumper.yaml_representers.get(DbtTemplate))
"""


def test_a_dbt_template_teaches_no_global_yaml_dumper() -> None:
    # in a fresh process: floe's own dumper writes it, PyYAML's safe_dump refuses it as before
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _GLOBAL_DUMPERS], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["RepresenterError", "RepresenterError", "None"]


def test_profile_secret_returns_a_template(pm: PluginManager, project: Project) -> None:
    project.write(
        "manifest.yaml",
        "compute:\n  approved:\n    - {name: pg, type: fakepg, config: {host: h}, "
        "credentials: {password: {env: PW}}}\n",
    )
    compute = load_product(project.product(), manager=pm).manifest.compute("pg")
    secret = profile_secret(compute, "password")
    assert type(secret) is DbtTemplate
    assert secret == "{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}"
    assert [b.variable for b in secret_bindings(compute)] == ["DBT_ENV_SECRET_PG_PASSWORD"]


# --------------------------------------------------------------------------- compile


class _Sneaky(DbtTemplate):
    """A template subclass whose own methods would lie: the framework reads the characters."""

    __slots__ = ()

    def __str__(self) -> str:
        return "{{ env_var('HOME') }}"


def _plugin(make_profile: Callable[[Any], Mapping[str, Any]]) -> types.ModuleType:
    def generate_profile(compute: Any) -> Mapping[str, Any]:
        return make_profile(compute)

    return make_plugin("tmpl", version="1", generate_profile=generate_profile)


def _compile(project: Project, make_profile: Callable[[Any], Mapping[str, Any]], config: str = "{}") -> Any:
    project.write(
        "manifest.yaml",
        "compute:\n  approved:\n"
        f"    - {{name: t, type: tmpl, config: {config}, credentials: {{token: {{env: TOKEN}}}}}}\n",
    )
    pm = PluginManager(strict=False)
    pm.register(_plugin(make_profile), name="tmpl")
    return compile_product(load_product(project.product(), manager=pm), manager=pm)


def test_compile_writes_literals_escaped_and_templates_as_they_are(project: Project) -> None:
    def make_profile(compute: Any) -> dict[str, Any]:
        return {
            "type": "tmpl",
            "path": compute.config["path"],
            "token": profile_secret(compute, "token"),
            "threads": DbtTemplate("{{ env_var('DBT_THREADS', '4') | int }}"),
            "hand_written": "{{ env_var('HOME') }}",
            "sneaky": _Sneaky("{{ env_var('DBT_ENV_SECRET_T_TOKEN') }}"),
            "nested": {"list": ["{% if true %}x{% endif %}", 1, None, True]},
        }

    compiled = _compile(project, make_profile, config="{path: \"{{ env_var('HOME') }}/x.duckdb\"}")
    written = yaml.safe_load(compiled.profiles_yml)["analytics"]["outputs"]["t"]
    assert written == {
        "type": "tmpl",
        "path": "{{ '{{ env_var(\\'HOME\\') }}/x.duckdb' }}",
        "token": "{{ env_var('DBT_ENV_SECRET_T_TOKEN') }}",
        "threads": "{{ env_var('DBT_THREADS', '4') | int }}",
        "hand_written": "{{ '{{ env_var(\\'HOME\\') }}' }}",
        "sneaky": "{{ env_var('DBT_ENV_SECRET_T_TOKEN') }}",
        "nested": {"list": ["{{ '{% if true %}x{% endif %}' }}", 1, None, True]},
    }
    # the compiled profile holds what dbt will see: literal values, and the templates as templates
    profile = compiled.compute("t").profile
    assert profile["path"] == "{{ env_var('HOME') }}/x.duckdb"
    assert profile["hand_written"] == "{{ env_var('HOME') }}"
    assert [type(profile[k]) for k in ("token", "threads", "sneaky")] == [DbtTemplate] * 3
    assert type(profile["path"]) is str


def test_a_literal_dbt_would_replace_is_refused_with_its_location(project: Project) -> None:
    def make_profile(compute: Any) -> dict[str, Any]:
        return {"type": "tmpl", "settings": {"agent": compute.config["agent"]}}

    message = error(lambda: _compile(project, make_profile, config="{agent: x DBT_ENV_SECRET_Y}"))
    assert message == (
        "manifest.yaml: compute.approved[name=t]: its dbt profile value at settings.agent contains "
        "'DBT_ENV_SECRET', which dbt replaces in any value it renders; only profile_secret() may write it"
    )


# --------------------------------------------------------------------------- with dbt's renderer


def _render_with_dbt(values: list[str], env: Mapping[str, str] | None = None) -> list[Any]:
    """Each of ``values`` rendered by dbt's own ProfileRenderer, as one profile value."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    def run() -> list[Any]:
        set_invocation_context({**os.environ, **(env or {})})
        renderer = ProfileRenderer({})
        return [renderer.render_value(value, ("outputs", "x")) for value in values]

    return contextvars.copy_context().run(run)


@pytest.mark.dbt
@pytest.mark.parametrize("text", UNCHANGED + ALTERED)
def test_dbt_renders_each_spelling_back_to_the_literal(text: str) -> None:
    (rendered,) = _render_with_dbt([dbt_literal(text)], {"HOME": "/home/else"})
    assert type(rendered) is str
    assert rendered == text


@pytest.mark.dbt
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=ANY_CHARACTER, max_size=40), min_size=1, max_size=20))
def test_dbt_renders_any_string_back_to_itself(texts: list[str]) -> None:
    texts = [t for t in texts if "DBT_ENV_SECRET" not in t]
    rendered = _render_with_dbt([dbt_literal(t) for t in texts])
    assert [type(r) for r in rendered] == [str] * len(texts)
    assert rendered == texts


@pytest.mark.dbt
def test_what_dbt_does_to_unescaped_strings() -> None:
    """The facts the spelling rests on, so a dbt upgrade that changes them is noticed."""
    values = [
        "{{ env_var('HOME') }}",
        "a\r\nb",
        "line\n",
        "123",
        "None",
        "x DBT_ENV_SECRET y",
        "$$$DBT_SECRET_START$$$DBT_ENV_SECRET_X$$$DBT_SECRET_END$$$",
        "{{ env_var('DBT_ENV_SECRET_X') }}",
        "{{ env_var('DBT_THREADS') | int }}",
    ]
    env = {"HOME": "/home/else", "DBT_ENV_SECRET_X": "s3cret", "DBT_THREADS": "6"}
    assert _render_with_dbt(values, env) == [
        "/home/else",
        "a\nb",
        "line",
        "123",  # native rendering keeps a plain string a string
        "None",
        None,  # the secret prefix without a placeholder: dbt drops the whole value
        "s3cret",
        "s3cret",
        6,
    ]


@pytest.mark.dbt
def test_dbt_reads_the_compiled_profiles_yml_as_written(project: Project, tmp_path: Path) -> None:
    """The file itself, through dbt's own reader and renderer: templates render, literals stay."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    def make_profile(compute: Any) -> dict[str, Any]:
        return {
            "type": "tmpl",
            "path": compute.config["path"],
            "token": profile_secret(compute, "token"),
            "threads": DbtTemplate("{{ env_var('DBT_THREADS') | int }}"),
            "hand_written": "{{ env_var('HOME') }}",
        }

    compiled = _compile(project, make_profile, config="{path: \"{{ env_var('HOME') }}\\r\\n\"}")
    (tmp_path / "dbt").mkdir()
    (tmp_path / "dbt" / "profiles.yml").write_text(compiled.profiles_yml, encoding="utf-8")
    env = {"HOME": "/home/else", "DBT_ENV_SECRET_T_TOKEN": "tok3n", "DBT_THREADS": "3"}

    def run() -> dict[str, Any]:
        set_invocation_context({**os.environ, **env})
        raw = read_profile(str(tmp_path / "dbt"))
        target, data = Profile.render_profile(raw["analytics"], "analytics", None, ProfileRenderer({}))
        assert target == "t"
        return data

    assert contextvars.copy_context().run(run) == {
        "type": "tmpl",
        "path": "{{ env_var('HOME') }}\r\n",
        "token": "tok3n",
        "threads": 3,
        "hand_written": "{{ env_var('HOME') }}",
    }
