"""check_health: concurrent checks, enforced timeouts, isolation, credentials at check time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import floe_hooks
from floe_hooks import ConfigError, ConnectionResult, ConnectionStatus, SecretValue, _log
from floe_hooks.health import DEFAULT_TIMEOUT, check_health, effective_timeout, transitions

from .conftest import FixturePlugins, compute, health_plugin, with_password

HEALTHY, DEGRADED, UNHEALTHY = ConnectionStatus.HEALTHY, ConnectionStatus.DEGRADED, ConnectionStatus.UNHEALTHY


def test_check_health_is_exported_lazily_from_the_package() -> None:
    assert floe_hooks.check_health is check_health
    assert "check_health" in floe_hooks.__all__


def test_results_come_back_in_the_order_of_the_computes(plugins: FixturePlugins) -> None:
    computes = [compute("ok"), compute("degraded"), compute("s1", "sleepy"), compute("down")]
    results = check_health(computes, manager=plugins.manager)
    assert [r.compute for r in results] == ["ok", "degraded", "s1", "down"]
    assert [r.status for r in results] == [HEALTHY, DEGRADED, HEALTHY, UNHEALTHY]
    assert results[1].warnings == ("extension json missing",)
    assert results[2].message == "answered select 1"


def test_many_slow_checks_all_complete_healthy(plugins: FixturePlugins) -> None:
    computes = [compute(f"slow_{i}", "sleepy") for i in range(40)]
    results = check_health(computes, manager=plugins.manager, timeout=30)
    assert [r.compute for r in results] == [c.name for c in computes]
    assert all(r.status is HEALTHY for r in results)


def test_a_hung_plugin_returns_unhealthy_saying_it_timed_out(plugins: FixturePlugins) -> None:
    [result] = check_health([compute("hung")], manager=plugins.manager, timeout=0.2)
    assert result.status is UNHEALTHY
    assert result.message == "timed out after 0.2 s"
    assert result.compute == "hung"
    assert result.latency_ms >= 200
    assert not plugins.hung_returned.is_set()  # its thread was abandoned, not joined


def test_a_hung_plugin_does_not_affect_the_others(plugins: FixturePlugins) -> None:
    computes = [
        compute("hung", timeout_seconds=0.3),
        compute("ok"),
        compute("s", "sleepy", timeout_seconds=10),
    ]
    results = check_health(computes, manager=plugins.manager)
    assert [(r.compute, r.status) for r in results] == [("hung", UNHEALTHY), ("ok", HEALTHY), ("s", HEALTHY)]
    assert results[0].message == "timed out after 0.3 s"


def test_the_timeout_comes_from_the_caller_else_the_compute_else_five_seconds(
    plugins: FixturePlugins,
) -> None:
    assert effective_timeout(compute("a", "ok", timeout_seconds=7), 2.5) == 2.5
    assert effective_timeout(compute("a", "ok", timeout_seconds=7)) == 7
    assert effective_timeout(compute("a", "ok")) == DEFAULT_TIMEOUT == 5.0
    check_health([compute("a", "sleepy", timeout_seconds=7), compute("b", "sleepy")], manager=plugins.manager)
    assert plugins.seen_timeouts == {"a": 7, "b": 5.0}
    check_health([compute("c", "sleepy", timeout_seconds=7)], manager=plugins.manager, timeout=3)
    assert plugins.seen_timeouts["c"] == 3


def test_the_compute_timeout_is_enforced_when_the_caller_sets_none(plugins: FixturePlugins) -> None:
    [result] = check_health([compute("hung", timeout_seconds=0.25)], manager=plugins.manager)
    assert result.message == "timed out after 0.25 s"


def test_a_raising_plugin_is_unhealthy_naming_plugin_and_error_class_with_the_secret_masked(
    plugins: FixturePlugins,
) -> None:
    computes = [with_password("pg", "raiser", "PG_PASSWORD"), compute("ok")]
    results = check_health(computes, manager=plugins.manager, environ={"PG_PASSWORD": "s3cr3t-pw-42"})
    failed = results[0]
    assert failed.status is UNHEALTHY
    assert "plugin 'raiser'" in failed.message
    assert "ConnectionRefusedError" in failed.message
    assert "s3cr3t-pw-42" not in failed.message
    assert "postgres://floe:**********@db:5432" in failed.message
    assert results[1].status is HEALTHY


def test_a_plugin_raising_systemexit_is_contained(empty_pm: Any) -> None:
    def exits(compute: Any) -> ConnectionResult:
        raise SystemExit(3)

    empty_pm.register(health_plugin("exiter", exits))
    [result] = check_health([compute("exiter")], manager=empty_pm)
    assert result.status is UNHEALTHY
    assert "plugin 'exiter'" in result.message
    assert "SystemExit" in result.message


def test_a_wrong_return_type_is_an_unhealthy_contract_error(empty_pm: Any) -> None:
    empty_pm.register(health_plugin("sloppy", lambda compute: {"status": "healthy"}))
    [result] = check_health([compute("sloppy")], manager=empty_pm)
    assert result.status is UNHEALTHY
    assert "validate_connection returned dict" in result.message
    assert "plugin 'sloppy'" in result.message


def test_an_unserved_compute_type_is_unhealthy_naming_the_installed_ones(plugins: FixturePlugins) -> None:
    [result, other] = check_health([compute("nope"), compute("ok")], manager=plugins.manager)
    assert result.status is UNHEALTHY
    assert "no installed compute plugin serves type 'nope'" in result.message
    assert other.status is HEALTHY


def test_credentials_are_resolved_at_check_time_and_passed_as_secret_values(plugins: FixturePlugins) -> None:
    target = with_password("ok", "ok", "OK_PASSWORD")
    check_health([target], manager=plugins.manager, environ={"OK_PASSWORD": "first-value"})
    assert plugins.seen_secrets["ok"] == {"password": SecretValue("first-value")}
    check_health([target], manager=plugins.manager, environ={"OK_PASSWORD": "second-value"})
    assert plugins.seen_secrets["ok"]["password"].reveal() == "second-value"


def test_credentials_fall_back_to_the_dbt_secret_variable(plugins: FixturePlugins) -> None:
    target = with_password("ok", "ok", "OK_PASSWORD")
    check_health([target], manager=plugins.manager, environ={"DBT_ENV_SECRET_OK_PASSWORD": "from-dbt-var"})
    assert plugins.seen_secrets["ok"]["password"].reveal() == "from-dbt-var"


def test_a_missing_credential_is_reported_by_variable_name_and_the_plugin_is_not_called(
    plugins: FixturePlugins,
) -> None:
    target = with_password("ok", "ok", "OK_PASSWORD")
    [result] = check_health([target], manager=plugins.manager, environ={"OTHER": "x"})
    assert result.status is UNHEALTHY
    assert "OK_PASSWORD" in result.message
    assert "DBT_ENV_SECRET_OK_PASSWORD" in result.message
    assert "ok" not in plugins.seen_secrets


def test_resolved_credentials_are_registered_for_redaction(plugins: FixturePlugins) -> None:
    from floe_hooks._redact import redact

    check_health([with_password("ok", "ok", "PW")], manager=plugins.manager, environ={"PW": "canary-7781"})
    assert redact("dsn with canary-7781 inside") == "dsn with ********** inside"


def test_a_plugin_echoing_a_secret_in_its_result_is_redacted(plugins: FixturePlugins) -> None:
    [result] = check_health(
        [with_password("db", "down", "DB_PW")], manager=plugins.manager, environ={"DB_PW": "echoed-secret-1"}
    )
    assert result.status is UNHEALTHY
    text = repr(result)
    assert "echoed-secret-1" not in text
    assert result.message == "refused dsn=postgres://floe:**********@db"
    assert result.warnings == ("password ********** rejected",)
    assert result.details == {"dsn": "postgres://floe:**********@db"}


def test_a_freed_worker_slot_lets_the_next_check_run_after_a_timeout(plugins: FixturePlugins) -> None:
    computes = [compute("hung", timeout_seconds=0.2), compute("ok"), compute("degraded")]
    results = check_health(computes, manager=plugins.manager, max_workers=1)
    assert [r.status for r in results] == [UNHEALTHY, HEALTHY, DEGRADED]


def test_on_result_is_called_once_per_compute_in_the_callers_thread(plugins: FixturePlugins) -> None:
    seen: list[tuple[int, str | None, str]] = []
    caller = threading.current_thread().name

    def record(index: int, result: ConnectionResult) -> None:
        seen.append((index, result.compute, threading.current_thread().name))

    check_health(
        [compute("ok"), compute("nope"), compute("degraded")], manager=plugins.manager, on_result=record
    )
    assert sorted(seen) == [(0, "ok", caller), (1, "nope", caller), (2, "degraded", caller)]


def test_an_empty_selection_checks_nothing(plugins: FixturePlugins) -> None:
    assert check_health([], manager=plugins.manager) == []


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e10])
def test_a_timeout_that_is_not_a_positive_number_is_bad_input(plugins: FixturePlugins, bad: float) -> None:
    with pytest.raises(ConfigError, match="timeout: must be a number of seconds greater than 0 and at most"):
        check_health([compute("ok")], manager=plugins.manager, timeout=bad)


def test_the_process_wide_manager_is_used_by_default(plugins: FixturePlugins) -> None:
    from floe_hooks import set_plugin_manager

    set_plugin_manager(plugins.manager)
    [result] = check_health([compute("ok")])
    assert result.status is HEALTHY


def test_worker_threads_carry_the_callers_correlation_id(plugins: FixturePlugins) -> None:
    with _log.correlation("host-cid-1234") as cid:
        check_health([compute("ok"), compute("s", "sleepy")], manager=plugins.manager)
    assert plugins.seen_correlation == [cid, cid]


def test_each_api_call_gets_its_own_correlation_id(plugins: FixturePlugins) -> None:
    check_health([compute("ok")], manager=plugins.manager)
    check_health([compute("ok")], manager=plugins.manager)
    first, second = plugins.seen_correlation
    assert first != second
    assert len(first) == 16


def test_transitions_report_changes_only() -> None:
    def result(name: str, status: ConnectionStatus, message: str = "") -> ConnectionResult:
        return ConnectionResult(status=status, latency_ms=1, message=message, compute=name)

    first = transitions({}, [result("a", HEALTHY), result("b", HEALTHY)])
    assert [(t.compute, t.before, t.after) for t in first] == [("a", None, HEALTHY), ("b", None, HEALTHY)]
    changed = transitions({"a": HEALTHY, "b": HEALTHY}, [result("a", HEALTHY), result("b", DEGRADED, "slow")])
    assert [t.describe() for t in changed] == ["b: healthy -> degraded (slow)"]
    assert first[0].describe() == "a: unknown -> healthy"


def test_a_compute_whose_abandoned_check_has_not_returned_is_not_checked_again(
    plugins: FixturePlugins,
) -> None:
    def hung_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "floe-check-hung" and t.is_alive()]

    earlier = set(hung_threads())  # other tests' released threads, maybe not ended yet
    [first] = check_health([compute("hung")], manager=plugins.manager, timeout=0.1)
    [second] = check_health([compute("hung")], manager=plugins.manager, timeout=0.1)
    assert first.message == "timed out after 0.1 s"
    assert second.status is UNHEALTHY
    assert "abandoned at its timeout and has not returned yet" in second.message
    assert len(set(hung_threads()) - earlier) == 1  # one thread for a hung plugin, not one per round
    plugins.release.set()
    for thread in hung_threads():
        thread.join(5)
    [third] = check_health([compute("hung")], manager=plugins.manager, timeout=5)
    assert third.status is HEALTHY


def test_a_process_with_an_abandoned_check_still_exits() -> None:
    code = """
        import threading
        from floe_hooks import ComputeConfig, PluginManager, check_health
        from tests.health.conftest import health_plugin

        forever = threading.Event()
        manager = PluginManager(autoload=False)
        manager.register(health_plugin("hung", lambda compute: forever.wait()))
        [result] = check_health([ComputeConfig(name="hung", type="hung")], manager=manager, timeout=0.1)
        print(result.message)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "timed out after 0.1 s"
