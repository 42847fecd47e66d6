"""``floe k8s``: each step of the run plan as a Kubernetes Job, plus the profiles ConfigMap."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "k8s",
        help="write Kubernetes Jobs (one per compute of the run plan) and the profiles ConfigMap",
        description=(
            "Compile the product like `floe compile`, then write DIR/kubernetes.yaml: a ConfigMap with "
            "profiles.yml and one batch/v1 Job per step of the run plan (one per compute it uses), running "
            "`dbt run --target <compute> --select <its transforms>` with the plugin's resource requests and "
            "limits and its secrets from Kubernetes Secrets. Apply it with `kubectl apply -f`. Exit status 2 "
            "on bad input (a secret reference without secret:/key: included); nothing is written then."
        ),
    )
    parser.add_argument("floe_yaml", metavar="FLOE_YAML", help="the data product file (floe.yaml)")
    parser.add_argument("--env", help="apply this environment's overlay from the manifest")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default: target/floe/k8s beside FLOE_YAML); '-' prints to stdout",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Render and write (or print) the manifests; say how to apply them."""
    from floe_hooks.compile import compile_product
    from floe_hooks.kubernetes import default_k8s_dir, kubernetes_objects, render_kubernetes, write_kubernetes
    from floe_hooks.manager import hook_timeout_from_env, run_with_hook_deadline
    from floe_hooks.manifest import load_product

    timeout = hook_timeout_from_env()
    product = load_product(args.floe_yaml, env=args.env)
    compiled = run_with_hook_deadline(lambda: compile_product(product), timeout)
    if args.out == "-":
        sys.stdout.write(render_kubernetes(compiled))
        if len(compiled.run_plan) > 1:  # stdout is the manifest: the ordering hint goes to stderr
            print(
                f"floe: {len(compiled.run_plan)} steps: apply them in order (label floe.dev/step=1, 2, ...), "
                "waiting for each Job to complete; --out DIR prints the commands",
                file=sys.stderr,
            )
        return 0
    out = args.out if args.out is not None else default_k8s_dir(args.floe_yaml)
    path = write_kubernetes(compiled, out)
    print(f"wrote {path}")
    used = {step.compute for step in compiled.run_plan}
    secrets = sorted(
        {f"{b.ref.secret}/{b.ref.key}" for c in compiled.computes if c.name in used for b in c.secrets}
    )
    namespace = product.manifest.kubernetes.namespace
    if secrets:
        print(f"needs Kubernetes Secrets (name/key) in namespace {namespace}: {', '.join(secrets)}")
    jobs = [o["metadata"]["name"] for o in kubernetes_objects(compiled) if o["kind"] == "Job"]
    if len(jobs) == 1:
        print(f"apply: kubectl apply -f {path}")
        return 0
    print(
        "apply step by step (a step may read what an earlier one wrote; `kubectl apply -f` alone starts all):"
    )
    print(f"  kubectl apply -f {path} -l app.kubernetes.io/component=dbt-profiles")
    for step, job in enumerate(jobs, 1):
        print(
            f"  kubectl apply -f {path} -l floe.dev/step={step} && "
            f"kubectl wait -n {namespace} --for=condition=complete --timeout=6h job/{job}"
        )
    return 0
