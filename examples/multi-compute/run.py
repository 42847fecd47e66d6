"""Run a compiled floe product with dbt, each part on its engine: a tiny orchestrator.

``floe compile floe.yaml`` writes ``target/floe/profiles.yml`` and
``target/floe/compiled_artifacts.json``. The artifact's ``run_plan`` lists the dbt
invocations in order (``dbt run --profile shop --target pg --select path:models/orders``);
its ``computes.<name>.env`` says which ``DBT_ENV_SECRET_...`` variable each
compute needs and which reference feeds it. This script does what a production
orchestrator (or one Kubernetes Job per step) does with them::

    floe compile floe.yaml
    PG_PASSWORD=... python run.py            # dbt run, then dbt test, per step

It exits with dbt's status at the first failing step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def secret_env(compute: dict[str, Any], environ: dict[str, str]) -> dict[str, str]:
    """The ``DBT_ENV_SECRET_...`` variables of one compute, from their ``env`` references.

    A Kubernetes Job gets them from the referenced Secret instead; here the local
    environment feeds them. The values are never printed.
    """
    out: dict[str, str] = {}
    for binding in compute["env"]:
        source = binding["from"].get("env")
        if binding["variable"] in environ:
            continue
        if source is None or source not in environ:
            raise SystemExit(
                f"run.py: error: {binding['variable']} needs ${source or binding['variable']} "
                f"(secret {binding['path']!r} of compute)"
            )
        out[binding["variable"]] = environ[source]
    return out


def dbt_executable() -> str:
    """The ``dbt`` beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def main(argv: list[str] | None = None) -> int:
    """Run every step of the run plan; ``--no-test`` skips ``dbt test`` after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=HERE, help="the dbt project (default: here)")
    parser.add_argument("--compiled", type=Path, help="floe compile's output (default: PROJECT/target/floe)")
    parser.add_argument("--no-test", action="store_true", help="only dbt run")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    compiled = (args.compiled or project / "target" / "floe").resolve()
    artifacts = json.loads((compiled / "compiled_artifacts.json").read_text(encoding="utf-8"))
    environ = dict(os.environ)
    for step in artifacts["run_plan"]:
        compute = artifacts["computes"][step["compute"]]
        env = {**environ, **secret_env(compute, environ)}
        verbs = ["run"] if args.no_test else ["run", "test"]
        for verb in verbs:
            command = [dbt_executable(), verb, *step["command"][2:]]
            command += ["--project-dir", str(project), "--profiles-dir", str(compiled)]
            print(
                f"step {step['step']}: dbt {verb} on {step['compute']} ({compute['type']}): "
                f"{' '.join(step['select'])}",
                flush=True,
            )
            status = subprocess.run(command, cwd=project, env=env, check=False).returncode
            if status != 0:
                print(f"step {step['step']} failed: dbt {verb} exited {status}", file=sys.stderr)
                return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
