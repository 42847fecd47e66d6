"""structlog events: quiet by default, JSON on request, a correlation id per call, redacted."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from floe_hooks import _log, _redact
from floe_hooks.health import check_health

from .conftest import FixturePlugins, compute, with_password


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_info_events_are_quiet_by_default(
    plugins: FixturePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    check_health([compute("ok"), compute("down")], manager=plugins.manager)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_warnings_reach_stderr_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    _log.warning("plugin_failed", plugin="x", reason="import failed")
    err = capsys.readouterr().err
    assert "plugin_failed" in err
    assert "import failed" in err
    assert "correlation_id" in err


def test_json_logs_from_the_environment_carry_one_correlation_id_per_call(
    plugins: FixturePlugins, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_LOG_FORMAT", "json")
    monkeypatch.setenv("FLOE_LOG_LEVEL", "debug")
    check_health([compute("ok"), compute("hung", timeout_seconds=0.1)], manager=plugins.manager)
    first = _json_lines(capsys.readouterr().err)
    check_health([compute("ok")], manager=plugins.manager)
    second = _json_lines(capsys.readouterr().err)

    assert first[0]["event"] == "validate_started"
    assert first[-1]["event"] == "validate_finished"
    results = {e["compute"]: e for e in first if e["event"] == "validate_result"}
    assert results["ok"]["status"] == "healthy"
    assert results["hung"]["status"] == "unhealthy"
    assert results["hung"]["error_type"] == "ComputeTimeoutError"
    assert any(e["event"] == "validate_timeout" for e in first)
    assert {e["level"] for e in first} <= {"debug", "info", "warning"}
    assert all("timestamp" in e for e in first)
    assert len({e["correlation_id"] for e in first}) == 1
    assert len({e["correlation_id"] for e in second}) == 1
    assert first[0]["correlation_id"] != second[0]["correlation_id"]
    assert first[-1]["healthy"] == 1
    assert first[-1]["unhealthy"] == 1


def test_a_bound_correlation_id_is_kept(plugins: FixturePlugins, capsys: pytest.CaptureFixture[str]) -> None:
    _log.configure("info", "json")
    with _log.correlation("run-0001"):
        check_health([compute("ok")], manager=plugins.manager)
    events = _json_lines(capsys.readouterr().err)
    assert events
    assert {e["correlation_id"] for e in events} == {"run-0001"}


def test_configure_overrides_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_LOG_FORMAT", "json")
    _log.configure("info", "console")
    _log.info("compile_started", file="floe.yaml")
    err = capsys.readouterr().err
    assert "compile_started" in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err)


def test_unknown_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        _log.configure(level="loud")
    with pytest.raises(ValueError, match="unknown log format"):
        _log.configure(fmt="xml")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secrets_are_masked_in_every_field_and_in_the_rendered_line(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = 'pa"ss\\word-canary'
    _redact.remember(secret)
    _log.configure("debug", fmt)
    _log.warning(
        f"event mentioning {secret}",
        dsn=f"postgres://u:{secret}@h",
        nested={"list": [secret, 1, None], secret: "as a key"},
        error=RuntimeError(f"failed with {secret}"),
    )
    err = capsys.readouterr().err
    assert err
    assert secret not in err
    assert json.dumps(secret)[1:-1] not in err
    assert "pa" + '"' + "ss" not in err
    assert "**********" in err


def test_hook_and_check_events_never_show_a_resolved_credential(
    plugins: FixturePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    _log.configure("debug", "json")
    check_health(
        [with_password("pg", "raiser", "PG_PW"), with_password("db", "down", "PG_PW")],
        manager=plugins.manager,
        environ={"PG_PW": "log-canary-31337"},
    )
    err = capsys.readouterr().err
    assert "validate_result" in err
    assert "log-canary-31337" not in err


def test_structlog_is_imported_only_when_an_event_is_written() -> None:
    code = """
        import sys
        from floe_hooks import _log
        _log.info("below_threshold", x=1)
        _log.debug("below_threshold", x=1)
        print("structlog" in sys.modules)
        _log.warning("written")
        print("structlog" in sys.modules)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
    assert "written" in done.stderr


def test_every_hook_call_is_a_debug_event_even_without_opentelemetry(
    plugins: FixturePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    plugins.manager.generate_profile(compute("ok"))
    assert capsys.readouterr().err == ""  # not at the default threshold
    _log.configure("debug", "json")
    with _log.correlation("compile-run-1"):
        plugins.manager.generate_profile(compute("ok"))
        check_health([compute("raiser")], manager=plugins.manager)
    events = [e for e in _json_lines(capsys.readouterr().err) if e["event"] == "hook_call"]
    assert [(e["hook"], e["compute"], e["status"], e["error_type"]) for e in events] == [
        ("generate_profile", "ok", "ok", None),
        ("validate_connection", "raiser", "unhealthy", "ConnectionRefusedError"),
    ]
    assert {e["correlation_id"] for e in events} == {"compile-run-1"}
    assert events[0]["plugin"] == "ok"
    assert isinstance(events[0]["duration_ms"], float)
