"""Issue 16: the defects an attacker found, and the classes behind them.

Each test pins one defect (it fails on the code before the fix); the property-based and
table-driven ones pin the class the defect belongs to:

* delete only what floe made (cleanup never follows a link out of the output folder);
* probes have no side effects (``floe validate`` creates and changes nothing);
* mask before cut (a secret is masked in the whole text before any line or length cut);
* plugin results normalised inside the bounded call;
* every duration and integer bounded; every input path limited.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from adversarial_harness import run_floe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_hooks._atomic import publish_files, published_folder
from floe_hooks.errors import ConfigError

PRODUCT = "name: analytics\nplatform: manifest.yaml\ntransforms:\n  - {name: marts, path: models/marts}\n"
MANIFEST = "version: 1\ncompute:\n  approved:\n    - duckdb\n"


def project(root: Path, manifest: str = MANIFEST, product: str = PRODUCT) -> Path:
    """A product folder: floe.yaml, manifest.yaml and one models folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(product)
    (root / "manifest.yaml").write_text(manifest)
    (root / "models" / "marts").mkdir(parents=True, exist_ok=True)
    return root


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------- delete only what floe made


def victim(root: Path) -> Path:
    folder = root / "precious"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    (folder / "profiles.yml").write_text("mine")
    return folder


def test_a_planted_generation_link_is_refused_and_its_target_survives(tmp_path: Path) -> None:
    precious = victim(tmp_path)
    work = project(tmp_path / "product")
    assert run_floe(["compile", "floe.yaml"], work, timeout=60).returncode == 0
    data = work / "target" / "floe" / ".floe"
    os.symlink(precious, data / "gen-planted")  # what a cloned repository can ship
    process = run_floe(["compile", "floe.yaml"], work, timeout=60)
    assert process.returncode == 2, process.stderr
    assert process.stderr.startswith("floe: error: target/floe/.floe/gen-planted: is a symbolic link")
    assert "Traceback" not in process.stderr
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}


@pytest.mark.parametrize(
    "plant",
    [
        "data-dir-link",
        "generation-link",
        "current-points-outside",
        "current-is-a-file",
        "output-name-links-outside",
        "live-file-is-a-link",
        "generation-is-a-file",
    ],
)
def test_every_floe_owned_part_that_is_a_foreign_link_is_refused(tmp_path: Path, plant: str) -> None:
    """Table-driven: each floe-owned part of the output folder, replaced by something floe
    did not make, is refused, and nothing outside the folder is read, changed or deleted."""
    precious = victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    publish_files(out, {"profiles.yml": "one", "compiled_artifacts.json": "{}"})
    publish_files(out, {"profiles.yml": "two", "compiled_artifacts.json": "{}"})
    data = out / ".floe"
    live = published_folder(out)
    assert live is not None
    if plant == "data-dir-link":
        os.rename(data, tmp_path / "moved")
        os.symlink(precious, data)
    elif plant == "generation-link":
        os.symlink(precious, data / "gen-zzz")
    elif plant == "current-points-outside":
        os.unlink(data / "current")
        os.symlink(str(precious), data / "current")
    elif plant == "current-is-a-file":
        os.unlink(data / "current")
        (data / "current").write_text("gen-x")
    elif plant == "output-name-links-outside":
        os.unlink(out / "profiles.yml")
        os.symlink(precious / "profiles.yml", out / "profiles.yml")
    elif plant == "live-file-is-a-link":
        os.unlink(live / "compiled_artifacts.json")
        os.symlink(precious / "thesis.tex", live / "compiled_artifacts.json")
    elif plant == "generation-is-a-file":
        (data / "gen-file").write_text("not a folder")
    with pytest.raises(ConfigError, match="floe did not make|not a folder|not a regular file"):
        publish_files(out, {"profiles.yml": "three", "compiled_artifacts.json": "{}"})
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}
    assert "three" not in {v.decode(errors="replace") for v in tree(out).values()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.from_regex(r"gen-[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=4, unique=True)
)
def test_cleanup_removes_only_floe_generations_whatever_links_sit_among_them(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    """Property: whatever gen-* links are planted, no file outside the output folder is lost."""
    root = tmp_path_factory.mktemp("prop")
    precious = victim(root)
    out = root / "out"
    out.mkdir()
    publish_files(out, {"a.txt": "one"})
    for name in names:
        os.symlink(precious, out / ".floe" / name)
    with pytest.raises(ConfigError):
        publish_files(out, {"a.txt": "two"})
    for name in names:
        os.unlink(out / ".floe" / name)
    publish_files(out, {"a.txt": "two"})  # once the links are gone, publishing works again
    assert (out / "a.txt").read_text() == "two"
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}


def test_cleanup_of_a_generation_never_enters_a_folder_or_follows_a_link_inside_it(tmp_path: Path) -> None:
    from floe_hooks._atomic import _remove_tree

    precious = victim(tmp_path)
    gen = tmp_path / "gen-old"
    gen.mkdir()
    (gen / "profiles.yml").write_text("ours")
    os.symlink(precious / "thesis.tex", gen / "link")
    (gen / "sub").mkdir()
    (gen / "sub" / "kept").write_text("not ours")
    _remove_tree(gen)
    assert sorted(os.listdir(gen)) == ["sub"]  # the folder floe never makes is left, with its parent
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}
    os.symlink(precious, tmp_path / "gen-link")
    _remove_tree(tmp_path / "gen-link")
    assert tree(precious) == {"thesis.tex": b"years of work", "profiles.yml": b"mine"}
    assert stat.S_ISLNK(os.lstat(tmp_path / "gen-link").st_mode)


# --------------------------------------------------------------------------- literal secrets


def duckdb_manifest(config: str) -> str:
    return f"version: 1\ncompute:\n  approved:\n    - name: w\n      type: duckdb\n      config: {config}\n"


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ("{settings: {http_proxy_password: hunter2hunter2}}", "settings.http_proxy_password"),
        ("{filesystems: [{fs: s3, options: {key: AKIAEXAMPLE}}]}", "filesystems[0].options.key"),
        (
            "{filesystems: [{fs: http, options: {client_kwargs: {headers: {Authorization: 'Bearer abc'}}}}]}",
            "filesystems[0].options.client_kwargs.headers.Authorization",
        ),
        (
            "{plugins: [{module: gsheet, config: {sas_token: 'sv=2020&sig=x'}}]}",
            "plugins[0].config.sas_token",
        ),
        ("{attach: [{path: a.db, options: {encryption_key: k3y}}]}", "attach[0].options.encryption_key"),
        ("{config_options: {s3_session_token: tok}}", "config_options.s3_session_token"),
    ],
)
def test_a_literal_secret_anywhere_in_a_duckdb_config_is_refused_without_its_value(
    tmp_path: Path, config: str, path: str
) -> None:
    """Table-driven: the name heuristic reaches every nested mapping of the config."""
    work = project(tmp_path, manifest=duckdb_manifest(config))
    process = run_floe(["compile", "floe.yaml"], work, timeout=60)
    assert process.returncode == 2, process.stderr
    line = process.stderr.strip()
    assert line.startswith(f"floe: error: manifest.yaml: compute.approved[0].config.{path}: "), line
    for value in ("hunter2hunter2", "AKIAEXAMPLE", "Bearer abc", "sig=x", "k3y", "tok}"):
        assert value not in line
    assert not (work / "target").exists()


def test_an_attach_secret_name_is_not_taken_for_a_secret(tmp_path: Path) -> None:
    work = project(tmp_path, manifest=duckdb_manifest("{attach: [{path: a.db, alias: a, secret: my_s3}]}"))
    assert run_floe(["compile", "floe.yaml"], work, timeout=60).returncode == 0


def test_a_field_the_plugin_marks_secret_refuses_a_literal_whatever_its_name(empty_pm: object) -> None:
    import attrs

    from floe_hooks import SECRET_METADATA, PluginManager
    from floe_hooks._convert import structure_compute
    from floe_hooks.testing import make_plugin

    @attrs.frozen
    class Config:
        pin: str | None = attrs.field(default=None, metadata={SECRET_METADATA: True})
        region: str = "eu"

    assert isinstance(empty_pm, PluginManager)
    empty_pm.register(make_plugin("vault", version="1", api="1.0", config_class=Config))
    with pytest.raises(ConfigError) as caught:
        structure_compute({"name": "v", "type": "vault", "config": {"pin": "1234"}}, lambda _: Config)
    assert caught.value.path == "config.pin"
    assert "1234" not in str(caught.value)
    assert structure_compute({"name": "v", "type": "vault", "config": {"region": "us"}}, lambda _: Config)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("http_proxy_password", True),
        ("Authorization", True),
        ("X-Api-Key", True),
        ("sas_token", True),
        ("key", True),
        ("AccountKey", True),
        ("aws_secret_access_key", True),
        ("s3_access_key_id", True),
        ("client_secret", True),
        ("passphrase", True),
        ("connection_string", True),
        ("region", False),
        ("endpoint", False),
        ("token_endpoint", False),
        ("primary_key", False),
        ("secrets", False),
        ("credential_chain", False),
        ("use_ssl", False),
    ],
)
def test_the_secret_name_heuristic(name: str, secret: bool) -> None:
    from floe_hooks._literal_secrets import looks_secret

    assert looks_secret(name) is secret


@given(value=st.one_of(st.text(min_size=1).filter(str.strip), st.integers(), st.floats(allow_nan=False)))
def test_any_literal_under_a_secret_name_at_any_depth_is_found(value: object) -> None:
    """Property: a literal under a secret-looking key is found however deep it is nested."""
    from floe_hooks._literal_secrets import literal_secret_path

    config = {"a": [{"b": {"headers": {"Authorization": value}}}]}
    assert literal_secret_path(config) == "a[0].b.headers.Authorization"


# --------------------------------------------------------------------------- references never echoed


@pytest.mark.parametrize(
    "ref",
    [
        "{env: 'sk_live_51Habcdef PASTED'}",
        "{secret: 'Sk_Live_PASTED/x', key: k}",
        "{secret: s, key: 'sk live PASTED'}",
        "{env: 'PASTED\\u0000x'}",
    ],
)
def test_a_secret_pasted_into_a_reference_is_never_repeated(tmp_path: Path, ref: str) -> None:
    manifest = (
        "version: 1\ncompute:\n  approved:\n    - name: w\n      type: duckdb\n"
        f"      credentials: {{password: {ref}}}\n"
    )
    work = project(tmp_path, manifest=manifest)
    process = run_floe(["compile", "floe.yaml"], work, timeout=60)
    assert process.returncode == 2
    assert "PASTED" not in process.stderr + process.stdout
    assert "the value is not shown" in process.stderr


# --------------------------------------------------------------------------- durations and integers


@settings(max_examples=200)
@given(st.one_of(st.floats(), st.integers(min_value=-(10**30), max_value=10**30)))
def test_every_duration_is_refused_or_usable_by_a_thread_wait(seconds: float) -> None:
    """Property: a duration floe accepts can be waited for; anything else is a clear refusal."""
    import threading

    from floe_hooks._limits import MAX_SECONDS, duration_problem

    problem = duration_problem(seconds)
    if problem is None:
        assert 0 < seconds <= MAX_SECONDS
        assert float(seconds) <= threading.TIMEOUT_MAX
    else:
        assert "at most 604800" in problem or "expected a number" in problem


@pytest.mark.parametrize(
    ("args", "manifest", "env", "expected"),
    [
        (["validate", "manifest.yaml", "--timeout", "1e10"], MANIFEST, {}, "at most 604800"),
        (["validate", "manifest.yaml", "--watch", "1e300"], MANIFEST, {}, "at most 604800"),
        (
            ["compile", "floe.yaml"],
            "version: 1\ncompute:\n  approved:\n    - {name: w, type: duckdb, timeout_seconds: .inf}\n",
            {},
            "manifest.yaml: compute.approved[0].timeout_seconds: must be a number of seconds",
        ),
        (["compile", "floe.yaml"], MANIFEST, {"FLOE_HOOK_TIMEOUT": "1e300"}, "FLOE_HOOK_TIMEOUT='1e300'"),
        (["plugins"], MANIFEST, {"FLOE_PLUGIN_IMPORT_TIMEOUT": "1e10"}, "FLOE_PLUGIN_IMPORT_TIMEOUT='1e10'"),
        (
            ["compile", "floe.yaml"],
            "version: 1\ncompute:\n  approved: [duckdb]\nkubernetes: {backoff_limit: 3000000000}\n",
            {},
            "manifest.yaml: kubernetes.backoff_limit: must be at most 2147483647",
        ),
        (
            ["compile", "floe.yaml"],
            "version: 1\ncompute:\n  approved: [duckdb]\nenvironments:\n  prod:\n"
            "    kubernetes: {ttl_seconds_after_finished: 3000000000}\n",
            {},
            "manifest.yaml: environments.prod.kubernetes.ttl_seconds_after_finished: must be at most",
        ),
        (
            ["compile", "floe.yaml"],
            "version: 1\ncompute:\n  approved:\n    - {name: w, type: duckdb, threads: 10000000000000000}\n",
            {},
            "manifest.yaml: compute.approved[0].threads: must be from 1 to 1024",
        ),
        (
            ["compile", "floe.yaml"],
            "version: 1\ncompute:\n  approved:\n    - {name: w, type: duckdb,\n"
            "       config: {threads: 3000000001}}\n",
            {},
            "manifest.yaml: compute.approved[0].config.threads: must be at most 2147483647",
        ),
    ],
)
def test_every_duration_and_integer_is_bounded_with_a_located_error(
    tmp_path: Path, args: list[str], manifest: str, env: dict[str, str], expected: str
) -> None:
    """Table-driven: each duration and integer beyond its documented maximum is exit 2, no traceback."""
    import subprocess

    from adversarial_harness import environment, floe_command

    work = project(tmp_path, manifest=manifest)
    process = subprocess.run(
        [*floe_command(), *args], cwd=work, env=environment(env), capture_output=True, text=True, timeout=60
    )
    assert process.returncode == 2, process.stderr
    assert expected in process.stderr
    assert "Traceback" not in process.stderr
    assert not (work / "target").exists()


# --------------------------------------------------------------------------- extends chains


def chain(root: Path, length: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for index in range(length):
        parent = f"extends: m{index + 1}.yaml\n" if index < length - 1 else ""
        approved = (
            "compute:\n  approved:\n    - {name: duckdb, type: duckdb, threads: 1}\n"
            if not parent
            else (
                f"compute:\n  approved:\n    - {{name: duckdb, threads: {index % 8 + 1}}}\n"
                f"environments:\n  prod:\n    compute:\n      duckdb: {{threads: 2}}\n"
            )
        )
        (root / f"m{index}.yaml").write_text(f"version: 1\n{parent}{approved}")
    return root / "m0.yaml"


@pytest.mark.parametrize("length", [33, 520, 2000])
def test_a_long_extends_chain_is_a_located_error_not_a_recursion_error(tmp_path: Path, length: int) -> None:
    from floe_hooks import load_manifest
    from floe_hooks.manifest import MAX_EXTENDS_DEPTH

    with pytest.raises(ConfigError) as caught:
        load_manifest(chain(tmp_path, length))
    assert caught.value.path == "extends"
    assert caught.value.file == str(tmp_path / f"m{MAX_EXTENDS_DEPTH - 1}.yaml")
    assert f"longer than {MAX_EXTENDS_DEPTH} manifests" in caught.value.message


def test_an_extends_chain_is_resolved_in_linear_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each file is read once and each compute structured a fixed number of times per level."""
    from floe_hooks import _yaml, load_manifest
    from floe_hooks.manifest import MAX_EXTENDS_DEPTH, _Resolver

    counts = {"read": 0, "structure": 0}
    read, structure = _yaml.read_yaml, _Resolver.structure

    def counted_read(*args: object, **kwargs: object) -> object:
        counts["read"] += 1
        return read(*args, **kwargs)  # type: ignore[arg-type]

    def counted_structure(self: _Resolver, layers: object) -> object:
        counts["structure"] += 1
        return structure(self, layers)  # type: ignore[arg-type]

    monkeypatch.setattr(_yaml, "read_yaml", counted_read)
    monkeypatch.setattr(_Resolver, "structure", counted_structure)
    manifest = load_manifest(chain(tmp_path, MAX_EXTENDS_DEPTH), env="prod")
    assert len(manifest.chain) == MAX_EXTENDS_DEPTH
    assert counts["read"] == MAX_EXTENDS_DEPTH
    assert counts["structure"] <= 3 * MAX_EXTENDS_DEPTH


# --------------------------------------------------------------------------- input paths


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("extends", '"parent\\0.yaml"', "contains the control character '\\x00'"),
        ("extends", '"' + "a" * 5000 + '.yaml"', "is not a usable file path"),
        ("extends", '"' + "b" * 300 + '/m.yaml"', "is not a usable file path"),
        ("extends", '"p\\nq.yaml"', "contains the control character '\\n'"),
        ("platform", '"manifest\\0.yaml"', "contains the control character '\\x00'"),
        ("platform", '"' + "c" * 6000 + '"', "is not a usable file path"),
        ("platform", '"  "', "must name a file"),
    ],
)
def test_every_file_reference_is_limited(tmp_path: Path, field: str, value: str, expected: str) -> None:
    """Table-driven: a NUL, a control character or thousands of characters in a file reference: exit 2."""
    manifest, product = MANIFEST, PRODUCT
    if field == "extends":
        manifest = f"version: 1\nextends: {value}\n"
        file = "manifest.yaml"
    else:
        product = PRODUCT.replace("platform: manifest.yaml", f"platform: {value}")
        file = "floe.yaml"
    work = project(tmp_path, manifest=manifest, product=product)
    process = run_floe(["compile", "floe.yaml"], work, timeout=60)
    assert process.returncode == 2, process.stderr
    line = process.stderr.strip()
    assert line.startswith(f"floe: error: {file}: {field}: "), line
    assert expected in line
    assert len(line) < 400


# --------------------------------------------------------------------------- the corpus and its summary

ISSUE_16_CASES = (
    "extends-nul-byte",
    "extends-huge-path",
    "extends-chain-too-deep",
    "platform-nul-byte",
    "platform-huge-path",
    "kubernetes-backoff-limit-above-int32",
    "kubernetes-ttl-above-int32",
    "timeout-infinite",
    "timeout-above-a-week",
    "threads-huge-integer",
    "literal-secret-proxy-password",
    "literal-secret-authorization-header",
    "literal-secret-fsspec-key",
    "literal-secret-sas-token-in-plugin-config",
    "secret-pasted-into-reference",
    "setting-value-with-newline",
)


def test_the_corpus_grows_by_the_issue_16_classes_and_the_docs_list_them() -> None:
    from adversarial_harness import cases

    summary = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text()
    for case in ISSUE_16_CASES:
        assert case in cases(), case
        assert f"`{case}`" in summary, case
    for hint in ("hunter2", "AKIAHUNTER2"):
        for case in ISSUE_16_CASES:
            assert hint not in (Path(__file__).parent / "corpus" / case / "expected.txt").read_text()
