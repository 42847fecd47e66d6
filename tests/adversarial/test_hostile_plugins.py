"""Hostile plugins, installed as real distributions: each is isolated and named.

Every fixture plugin is a module plus a dist-info folder (``floe-compute-evil 6.6.6``)
on ``PYTHONPATH``, run through the real ``floe`` command where its stdout matters, or
through an in-process manager discovering that folder otherwise.

A plugin that hangs is bounded wherever floe calls it: at import and in
``plugin_metadata`` (``FLOE_PLUGIN_IMPORT_TIMEOUT``: a failed plugin, the others work),
in a compile-time hook under ``floe compile``/``k8s``/``resources`` (``FLOE_HOOK_TIMEOUT``:
one line naming plugin and hook, nothing written), and in ``validate_connection``
(``floe validate``'s own timeout, see ``tests/health``).
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest
from adversarial_harness import Site

from floe_hooks import (
    CatalogConfig,
    ConfigError,
    PluginContractError,
    PluginError,
    PluginManager,
    compile_product,
    load_product,
)

DIST, VERSION = "floe-compute-evil", "6.6.6"
NAMED = f"plugin 'evil' (from {DIST} {VERSION})"

BODIES = {
    "prelude": "",
    "plugin_metadata": "pass",
    "generate_profile": "pass",
    "validate_connection": "pass",
    "resource_requirements": "pass",
}

# hand-written: source text for an on-disk distribution, each hook body swapped by text
TEMPLATE = """
import os, sys, time
from floe_hooks import hookimpl, PluginMetadata, ConnectionResult, ResourceSpec

{prelude}

@hookimpl
def plugin_metadata():
    {plugin_metadata}
    return PluginMetadata(name="evil", version="{version}", floe_api_version=API,
                          compute_types=TYPES, description="hostile fixture")

@hookimpl
def generate_profile(compute):
    {generate_profile}
    return {{"type": "duckdb", "path": ":memory:", "compute": compute.name}}

@hookimpl
def validate_connection(compute, timeout):
    {validate_connection}
    return ConnectionResult(status="healthy", latency_ms=0.1, message="evil is fine")

@hookimpl
def resource_requirements(compute):
    {resource_requirements}
    return ResourceSpec.resolve(compute.resources)
"""

MANIFEST = """\
version: 1
compute:
  default: duckdb
  approved:
    - duckdb
    - {name: shady, type: evil, config: {nested: {path: clean}}}
"""
PRODUCT = """\
name: analytics
platform: manifest.yaml
transforms:
  - {name: marts, path: models/marts}
  - {name: shady, path: models/shady, compute: shady}
"""


def hostile(site: Site, *, api: str = "1.0", types: tuple[str, ...] = ("evil",), **bodies: str) -> None:
    """Install ``floe-compute-evil`` with the given hook bodies (Python, one indented block each)."""
    filled = {k: textwrap.indent(textwrap.dedent(v).strip(), "    ").lstrip() for k, v in bodies.items()}
    prelude = textwrap.dedent(bodies.get("prelude", ""))
    source = TEMPLATE.format(**{**BODIES, **filled, "prelude": prelude, "version": VERSION})
    source = f"API = {api!r}\nTYPES = {types!r}\n" + source
    site.install(DIST, source, entry_point="evil", version=VERSION)


def hostile_project(tmp_path: Path) -> Path:
    """manifest.yaml approving duckdb and the hostile type; floe.yaml using both; previous outputs."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "manifest.yaml").write_text(MANIFEST)
    (root / "floe.yaml").write_text(PRODUCT)
    out = root / "target" / "floe"
    out.mkdir(parents=True)
    (out / "profiles.yml").write_text("previous: {}\n")
    (out / "compiled_artifacts.json").write_text("{}\n")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """:func:`hostile_project` in the test's temporary folder."""
    return hostile_project(tmp_path)


def outputs(project: Path) -> dict[str, bytes]:
    """Every file of the output folder."""
    return {p.name: p.read_bytes() for p in sorted((project / "target" / "floe").iterdir())}


def one_error_line(stderr: str) -> str:
    """The one ``floe: error:`` line; a broken plugin may add one ``plugin_failed`` warning before it."""
    errors = [line for line in stderr.splitlines() if line.startswith("floe: error: ")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) <= 2, stderr
    return errors[0]


def manager(site: Site) -> PluginManager:
    """An in-process manager that sees the fixture site and the installed plugins (DuckDB)."""
    return PluginManager(path=[str(site.root), *sys.path], strict=False)


# --------------------------------------------------------------------------- loading


def test_a_plugin_that_raises_at_import_is_listed_as_failed_and_the_rest_work(
    site: Site, project: Path
) -> None:
    hostile(site, prelude="raise RuntimeError('import-time boom')")
    listed = site.floe("plugins", "--format", "json", cwd=project)
    assert listed.returncode == 1
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["duckdb"]["status"] == "ok"
    evil = rows["evil"]
    assert (evil["status"], evil["distribution"], evil["distribution_version"]) == ("failed", DIST, VERSION)
    assert "import failed: RuntimeError: import-time boom" in evil["reason"]

    (project / "manifest.yaml").write_text("version: 1\ncompute:\n  approved: [duckdb]\n")
    (project / "floe.yaml").write_text(
        PRODUCT.replace("  - {name: shady, path: models/shady, compute: shady}\n", "")
    )
    assert site.floe("compile", "floe.yaml", cwd=project).returncode == 0


def test_compiling_for_a_plugin_that_failed_to_import_names_it(site: Site, project: Path) -> None:
    hostile(site, prelude="raise ImportError('no module named evil_driver')")
    before = outputs(project)
    process = site.floe("compile", "floe.yaml", cwd=project)
    assert process.returncode == 2
    line = one_error_line(process.stderr)
    assert line.startswith("floe: error: manifest.yaml: compute.approved[1].type: the plugin for type 'evil'")
    assert (
        f"(from {DIST} {VERSION}), failed to load: import failed: ImportError: no module named evil_driver"
        in line
    )
    assert outputs(project) == before


@pytest.mark.parametrize(
    ("bodies", "reason"),
    [
        ({"prelude": "raise SystemExit(3)"}, "import failed: SystemExit: 3"),
        ({"plugin_metadata": "raise ValueError('no metadata today')"}, "plugin_metadata raised ValueError"),
        ({"plugin_metadata": "return {'name': 'evil'}"}, "plugin_metadata returned dict"),
        ({"api": "1.99"}, "written for floe API 1.99"),
        ({"api": "2.0"}, "written for floe API 2.0"),
    ],
)
def test_a_plugin_that_cannot_load_is_recorded_with_its_distribution(
    site: Site, bodies: dict[str, str], reason: str
) -> None:
    hostile(site, **bodies)
    pm = PluginManager(path=[str(site.root)], strict=False)
    (failure,) = pm.failures
    assert (failure.name, failure.distribution, failure.version) == ("evil", DIST, VERSION)
    assert reason in failure.reason
    assert pm.plugins == []


def test_a_plugin_claiming_duckdb_fails_both_and_names_both_distributions(site: Site, project: Path) -> None:
    hostile(site, types=("duckdb",))
    listed = site.floe("plugins", "--format", "json", cwd=project)
    assert listed.returncode == 1
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    for name in ("duckdb", "evil"):
        assert rows[name]["status"] == "failed"
        assert "compute type 'duckdb' is claimed by" in rows[name]["reason"]
        assert f"(from {DIST} {VERSION})" in rows[name]["reason"]
        assert "(from floe-hooks " in rows[name]["reason"]
    process = site.floe("compile", "floe.yaml", cwd=project)
    assert process.returncode == 2
    assert "compute type 'duckdb' is claimed by" in one_error_line(process.stderr)


def test_printing_at_import_and_in_hooks_never_corrupts_json_on_stdout(site: Site, project: Path) -> None:
    hostile(
        site,
        prelude="print('evil says hello at import')",
        plugin_metadata="print('evil metadata chatter')",
        generate_profile="print('evil profile chatter')",
        validate_connection="print('evil validate chatter'); sys.stdout.write('more chatter\\n')",
        resource_requirements="print('evil resources chatter')",
    )
    listed = site.floe("plugins", "--format", "json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert {row["name"] for row in json.loads(listed.stdout)["plugins"]} == {"duckdb", "evil"}
    assert "evil says hello at import" in listed.stderr

    validated = site.floe("validate", "manifest.yaml", "--format", "json", cwd=project)
    assert validated.returncode == 0, validated.stderr
    json.loads(validated.stdout)
    assert "evil validate chatter" in validated.stderr

    compiled = site.floe("compile", "floe.yaml", cwd=project)
    assert compiled.returncode == 0, compiled.stderr
    assert "chatter" not in compiled.stdout
    assert compiled.stdout.startswith("wrote ")


HANGS = {
    "sleeps": "time.sleep(3600)",
    "spins": "while True:\n    pass",
}


def test_plugins_that_hang_at_import_are_failed_in_time_and_the_rest_work(site: Site, project: Path) -> None:
    # one sleeping and one busy-looping at module level, beside the bundled DuckDB plugin
    hostile(site, prelude=HANGS["sleeps"])
    site.install("floe-compute-spin", HANGS["spins"], entry_point="spin", version="0.1")
    quick = {"FLOE_PLUGIN_IMPORT_TIMEOUT": "0.5"}
    listed = site.floe("plugins", "--format", "json", cwd=project, env=quick, timeout=120)
    assert listed.returncode == 1, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["duckdb"]["status"] == "ok"
    for name, dist, version in (("evil", DIST, VERSION), ("spin", "floe-compute-spin", "0.1")):
        row = rows[name]
        assert (row["status"], row["distribution"], row["distribution_version"]) == ("failed", dist, version)
        assert row["reason"] == "PluginLoadError: import did not finish within 0.5 s"

    # a compute of the hung plugin's type: one line naming its distribution, nothing written
    before = outputs(project)
    process = site.floe("compile", "floe.yaml", cwd=project, env=quick, timeout=120)
    assert process.returncode == 2, process.stderr
    errors = [line for line in process.stderr.splitlines() if line.startswith("floe: error: ")]
    assert len(errors) == 1, process.stderr
    assert f"(from {DIST} {VERSION}), failed to load: import did not finish within 0.5 s" in errors[0]
    assert outputs(project) == before

    # only the good compute: compile and validate work
    (project / "manifest.yaml").write_text("version: 1\ncompute:\n  approved: [duckdb]\n")
    (project / "floe.yaml").write_text(
        PRODUCT.replace("  - {name: shady, path: models/shady, compute: shady}\n", "")
    )
    compiled = site.floe("compile", "floe.yaml", cwd=project, env=quick, timeout=120)
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.startswith("wrote ")
    validated = site.floe(
        "validate", "manifest.yaml", "--format", "json", cwd=project, env=quick, timeout=120
    )
    assert validated.returncode == 0, validated.stderr
    assert [r["status"] for r in json.loads(validated.stdout)["computes"]] == ["healthy"]


@pytest.mark.parametrize("hang", sorted(HANGS))
def test_a_plugin_hung_at_import_is_fatal_in_strict_mode(site: Site, project: Path, hang: str) -> None:
    hostile(site, prelude=HANGS[hang])
    strict = {"FLOE_PLUGIN_IMPORT_TIMEOUT": "0.5", "FLOE_STRICT_PLUGINS": "1"}
    process = site.floe("plugins", cwd=project, env=strict, timeout=120)
    assert process.returncode == 1
    assert process.stdout == ""
    assert f"floe: error: {NAMED}: import did not finish within 0.5 s" in process.stderr.splitlines()


@pytest.mark.parametrize("value", ["ten", "0", "-1", "nan", "inf", "1e300", "604801"])
def test_an_import_timeout_that_is_not_a_positive_number_is_one_line_exit_2(
    site: Site, project: Path, value: str
) -> None:
    process = site.floe("plugins", cwd=project, env={"FLOE_PLUGIN_IMPORT_TIMEOUT": value})
    assert process.returncode == 2
    assert process.stderr == (
        f"floe: error: FLOE_PLUGIN_IMPORT_TIMEOUT={value!r} is not a number of seconds greater than 0 "
        "and at most 604800 (7 days)\n"
    )


def test_writes_straight_to_file_descriptor_1_never_corrupt_stdout(site: Site, project: Path) -> None:
    # what sys.stdout cannot catch: os.write(1, ...), sys.__stdout__, a subprocess inheriting fd 1
    def garbage(where: str) -> str:
        return f"os.write(1, b'garbage: {where}\\n')"

    echo = "import subprocess; subprocess.run(['echo', 'garbage: echo in {}'], check=True)"
    hostile(
        site,
        prelude=garbage("import")
        + "\nsys.__stdout__.write('garbage: __stdout__\\n'); sys.__stdout__.flush()",
        plugin_metadata=garbage("plugin_metadata"),
        generate_profile=f"{garbage('generate_profile')}; {echo.format('generate_profile')}",
        validate_connection=f"{garbage('validate_connection')}; {echo.format('validate_connection')}",
        resource_requirements=garbage("resource_requirements"),
    )
    listed = site.floe("plugins", "--format", "json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert {row["name"] for row in json.loads(listed.stdout)["plugins"]} == {"duckdb", "evil"}
    for where in ("import", "__stdout__", "plugin_metadata"):
        assert f"garbage: {where}" in listed.stderr

    validated = site.floe("validate", "manifest.yaml", "--format", "json", cwd=project)
    assert validated.returncode == 0, validated.stderr
    json.loads(validated.stdout)
    for where in ("validate_connection", "echo in validate_connection"):
        assert f"garbage: {where}" in validated.stderr

    compiled = site.floe("compile", "floe.yaml", cwd=project)
    assert compiled.returncode == 0, compiled.stderr
    assert "garbage" not in compiled.stdout
    assert compiled.stdout.startswith("wrote ")
    for where in ("generate_profile", "echo in generate_profile", "resource_requirements"):
        assert f"garbage: {where}" in compiled.stderr

    schema = site.floe("schema", "manifest", cwd=project)
    assert schema.returncode == 0, schema.stderr
    json.loads(schema.stdout)

    jobs = site.floe("k8s", "floe.yaml", "--out", "-", cwd=project)
    assert jobs.returncode == 0, jobs.stderr
    assert "garbage" not in jobs.stdout
    assert "garbage: echo in generate_profile" in jobs.stderr


# --------------------------------------------------------------------------- hooks at compile time


@pytest.mark.parametrize("hook", ["generate_profile", "resource_requirements"])
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("raise RuntimeError('hook boom')", "raised RuntimeError: hook boom"),
        ("raise SystemExit(0)", "raised SystemExit: 0"),
        ("raise RuntimeError('first line\\nsecond line')", "raised RuntimeError: first line"),
        ("return ['not', 'a', 'dict']", "returned list"),
        ("return None", "returned NoneType"),
    ],
)
def test_a_hook_that_fails_at_compile_time_is_one_named_line_and_writes_nothing(
    site: Site, project: Path, hook: str, body: str, says: str
) -> None:
    hostile(site, **{hook: body})
    before = outputs(project)
    process = site.floe("compile", "floe.yaml", cwd=project)
    assert process.returncode == 1, process.stderr
    line = one_error_line(process.stderr)
    assert line.startswith(f"floe: error: {NAMED}: {hook} ")
    assert says in line
    assert outputs(project) == before


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "class Odd(Exception):\n    def __str__(self): raise RuntimeError('no str')\nraise Odd()",
            "generate_profile raised Odd: (its message cannot be shown)",
        ),
        ("raise ConfigError('line one\\nline two')", "compute.approved[name=shady]: line one line two"),
        ("raise MemoryError()", "generate_profile raised MemoryError"),
        ("raise RecursionError('deep')", "generate_profile raised RecursionError: deep"),
    ],
)
def test_odd_exceptions_from_a_hook_are_still_one_line(
    site: Site, project: Path, body: str, says: str
) -> None:
    hostile(site, prelude="from floe_hooks import ConfigError", generate_profile=body)
    process = site.floe("compile", "floe.yaml", cwd=project)
    assert process.returncode in (1, 2), process.stderr
    assert says in one_error_line(process.stderr)


def test_a_plugin_thread_left_running_does_not_keep_floe_alive(site: Site, project: Path) -> None:
    hostile(
        site,
        generate_profile="import threading; threading.Thread(target=time.sleep, args=(600,)).start()",
    )
    process = site.floe("compile", "floe.yaml", cwd=project, timeout=60)
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("wrote ")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "class D(dict):\n    def get(self, *a): raise RuntimeError('get')\nreturn D(type='duckdb')",
            "nothing",
        ),
        (
            "class D(dict):\n    def items(self): raise RuntimeError('items')\nreturn D(type='duckdb')",
            "copying it raised RuntimeError: items",
        ),
        ("p = {'type': 'duckdb'}; p['self'] = p; return p", "nested deeper than"),
        ("return {'type': 'duckdb', 'blob': 'x' * (100 * 1024 * 1024)}", "larger than"),
        ("return {'type': 'duckdb', 'when': object()}", "profile.when is a object, not a YAML value"),
        ("return {'type': 'duckdb', 1: 'one'}", "key 1 is not a string"),
        ("return {'type': 'duckdb', 'big': 10**5000}", "an integer outside the 64-bit range"),  # issue 16
        ("return {'type': 'duckdb', '\\ud800': 1}", "a key is not valid Unicode text"),  # issue 16
    ],
)
def test_a_profile_that_is_cyclic_huge_or_not_yaml_is_refused(
    site: Site, project: Path, body: str, says: str
) -> None:
    hostile(site, generate_profile=body)
    before = outputs(project)
    process = site.floe("compile", "floe.yaml", cwd=project)
    if says == "nothing":  # its own get() is never called: the profile is read as a plain dict
        assert process.returncode == 0, process.stderr
        return
    assert process.returncode == 1, process.stderr
    line = one_error_line(process.stderr)
    assert line.startswith(f"floe: error: {NAMED}: generate_profile for compute 'shady': ")
    assert says in line
    assert outputs(project) == before


def test_a_profile_of_builtin_subclasses_is_written_as_plain_values(site: Site, project: Path) -> None:
    hostile(
        site,
        prelude="import enum\nclass Text(str): pass\nclass Size(enum.IntEnum):\n    BIG = 8",
        generate_profile="return {Text('type'): Text('duckdb'), 'threads': Size.BIG, 'path': Text('x.db')}",
    )
    process = site.floe("compile", "floe.yaml", cwd=project)
    assert process.returncode == 0, process.stderr
    profiles = (project / "target" / "floe" / "profiles.yml").read_text()
    assert "    shady:\n      type: duckdb\n      threads: 8\n      path: x.db\n" in profiles


@pytest.mark.parametrize(
    "mutation",
    [
        'compute.config["nested"]["path"] = "mutated by generate_profile"',
        'compute.config["added"] = True',
        'compute.credentials["password"] = "hunter2"',
        "compute.config.clear()",
    ],
)
def test_a_plugin_cannot_mutate_its_config(site: Site, project: Path, mutation: str) -> None:
    hostile(site, generate_profile=mutation)
    pm = manager(site)
    product = load_product(project / "floe.yaml", manager=pm)
    with pytest.raises(
        PluginError, match="generate_profile raised TypeError: a structured config is read-only"
    ):
        compile_product(product, manager=pm)
    assert product.manifest.compute("shady").config == {"nested": {"path": "clean"}}
    assert dict(product.manifest.compute("shady").credentials) == {}


def test_config_shared_through_a_yaml_alias_cannot_leak_between_computes(site: Site, project: Path) -> None:
    hostile(site, generate_profile="compute.config['nested']['path'] = 'leaked from ' + compute.name")
    (project / "manifest.yaml").write_text(
        "version: 1\ncompute:\n  default: first\n  approved:\n"
        "    - {name: first, type: evil, config: &shared {nested: {path: clean}}}\n"
        "    - {name: second, type: evil, config: *shared}\n"
    )
    (project / "floe.yaml").write_text(PRODUCT.replace("compute: shady", "compute: second"))
    pm = manager(site)
    product = load_product(project / "floe.yaml", manager=pm)
    with pytest.raises(PluginError, match="a structured config is read-only"):
        compile_product(product, manager=pm)
    for name in ("first", "second"):
        assert product.manifest.compute(name).config == {"nested": {"path": "clean"}}


def test_a_plugin_error_in_process_is_a_plugin_error_naming_the_distribution(
    site: Site, project: Path
) -> None:
    hostile(site, generate_profile="raise SystemExit(0)")
    pm = manager(site)
    product = load_product(project / "floe.yaml", manager=pm)
    with pytest.raises(PluginError) as info:
        compile_product(product, manager=pm)
    assert (info.value.plugin, info.value.distribution, info.value.version) == ("evil", DIST, VERSION)


def test_a_plugin_config_error_is_located_in_the_manifest(site: Site, project: Path) -> None:
    hostile(site, generate_profile="raise ConfigError('bad path', path='config.nested.path')",
            prelude="from floe_hooks import ConfigError")  # fmt: skip
    pm = manager(site)
    with pytest.raises(ConfigError) as info:
        compile_product(load_product(project / "floe.yaml", manager=pm), manager=pm)
    assert str(info.value).endswith("compute.approved[name=shady].config.nested.path: bad path")


# --------------------------------------------------------------------------- validate


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("raise RuntimeError('validate boom')", "validate_connection raised RuntimeError: validate boom"),
        ("raise SystemExit(1)", "validate_connection raised SystemExit: 1"),
        ("return 'healthy'", "validate_connection returned str"),
        ("time.sleep(60)", "timed out after 1 s"),
    ],
)
def test_validate_isolates_a_failing_or_hung_check_and_names_the_plugin(
    site: Site, project: Path, body: str, says: str
) -> None:
    hostile(site, validate_connection=body)
    began = time.monotonic()
    process = site.floe("validate", "manifest.yaml", "--timeout", "1", "--format", "json", cwd=project)
    elapsed = time.monotonic() - began
    assert process.returncode == 1, process.stderr
    results = {r["compute"]: r for r in json.loads(process.stdout)["computes"]}
    assert results["duckdb"]["status"] == "healthy"
    assert results["shady"]["status"] == "unhealthy"
    assert says in results["shady"]["message"]
    if "sleep" in body:
        assert "evil" in results["shady"]["message"] or results["shady"]["message"].startswith("timed out")
        assert elapsed < 30  # returned at its timeout, not after the plugin's minute
    else:
        assert NAMED in results["shady"]["message"]


def test_a_runaway_health_answer_is_cut_to_size(site: Site, project: Path) -> None:
    hostile(
        site,
        validate_connection="""
            return ConnectionResult(
                status="degraded", latency_ms=0.1, message="m" * 50_000_000,
                warnings=["w" * 5000] * 10_000, details={str(i): "d" for i in range(10_000)},
            )
        """,
    )
    process = site.floe("validate", "manifest.yaml", "--format", "json", cwd=project)
    assert process.returncode == 0, process.stderr
    assert len(process.stdout) < 500_000
    shady = {r["compute"]: r for r in json.loads(process.stdout)["computes"]}["shady"]
    assert shady["message"].endswith(f"... ({50_000_000 - 2000} more characters)")
    assert len(shady["warnings"]) == 51
    assert shady["warnings"][-1] == "... and 9950 more warnings"


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (
            "raise RuntimeError('sql boom')",
            PluginError,
            "catalog_attachment_sql raised RuntimeError: sql boom",
        ),
        ("raise SystemExit(2)", PluginError, "catalog_attachment_sql raised SystemExit: 2"),
        ("return 'ATTACH everything'", PluginContractError, "catalog_attachment_sql returned str"),
    ],
)
def test_the_optional_catalog_hook_is_isolated_too(
    site: Site, project: Path, body: str, error: type[Exception], says: str
) -> None:
    hostile(site, prelude=f"@hookimpl\ndef catalog_attachment_sql(compute, catalog):\n    {body}")
    pm = manager(site)
    compute = load_product(project / "floe.yaml", manager=pm).manifest.compute("shady")
    with pytest.raises(error) as info:
        pm.catalog_attachment_sql(compute, CatalogConfig(name="lake", uri="http://127.0.0.1:1/catalog"))
    assert str(info.value).startswith(f"{NAMED}: ")
    assert says in str(info.value)


HOOK_HANGS = {
    "generate_profile sleeps": {"generate_profile": "time.sleep(3600)"},
    "generate_profile spins": {"generate_profile": "while True:\n    pass"},
    "resource_requirements sleeps": {"resource_requirements": "time.sleep(3600)"},
}


@pytest.mark.parametrize(
    ("command", "hang"),
    [
        (c, h)
        for c in ("compile", "k8s", "resources")
        for h in sorted(HOOK_HANGS)
        if c != "resources" or "res" in h
    ],
)
def test_a_hook_that_hangs_at_compile_time_is_named_at_its_deadline(
    site: Site, project: Path, hang: str, command: str
) -> None:
    """A compile-time hook still running after FLOE_HOOK_TIMEOUT fails the command with one
    line naming the plugin and the hook; nothing is written, and the process ends even though
    the hung call never returns."""
    hostile(site, **HOOK_HANGS[hang])
    hook = hang.split()[0]
    before = outputs(project)
    process = site.floe(command, "floe.yaml", cwd=project, env={"FLOE_HOOK_TIMEOUT": "0.5"}, timeout=120)
    assert process.returncode == 1, process.stderr
    assert one_error_line(process.stderr) == f"floe: error: {NAMED}: {hook} did not return within 0.5 s"
    assert process.stdout == ""
    assert outputs(project) == before
    assert not (project / "target" / "k8s").exists()


def test_a_hook_that_is_slow_but_in_time_is_waited_for(site: Site, project: Path) -> None:
    hostile(site, generate_profile="time.sleep(0.3)", resource_requirements="time.sleep(0.3)")
    process = site.floe("compile", "floe.yaml", cwd=project, env={"FLOE_HOOK_TIMEOUT": "2"}, timeout=120)
    assert process.returncode == 0, process.stderr
    assert (project / "target" / "floe" / "profiles.yml").read_text().count("type: duckdb") == 2


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "1e300", "1e10"])
def test_a_hook_timeout_that_is_not_a_positive_number_is_one_line_exit_2(
    site: Site, project: Path, value: str
) -> None:
    process = site.floe("compile", "floe.yaml", cwd=project, env={"FLOE_HOOK_TIMEOUT": value})
    assert process.returncode == 2
    assert process.stderr == (
        f"floe: error: FLOE_HOOK_TIMEOUT={value!r} is not a number of seconds greater than 0 "
        "and at most 604800 (7 days)\n"
    )


def test_plugin_metadata_that_hangs_is_a_failed_plugin_like_a_hung_import(site: Site, project: Path) -> None:
    hostile(site, plugin_metadata="time.sleep(3600)")
    quick = {"FLOE_PLUGIN_IMPORT_TIMEOUT": "0.5"}
    listed = site.floe("plugins", "--format", "json", cwd=project, env=quick, timeout=120)
    assert listed.returncode == 1, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["plugins"]}
    assert rows["duckdb"]["status"] == "ok"
    assert rows["evil"]["status"] == "failed"
    assert rows["evil"]["reason"] == "PluginLoadError: plugin_metadata did not return within 0.5 s"
