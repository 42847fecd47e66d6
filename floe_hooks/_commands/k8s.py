"""``floe k8s``: the run plan for a cluster (an Argo Workflow DAG or ordered Jobs) and its ConfigMap."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser = sub.add_parser(
        "k8s",
        help="write the run plan as an Argo Workflow (or Kubernetes Jobs) and the profiles ConfigMap",
        description=(
            "Compile the product like `floe compile`, then write DIR/kubernetes.yaml: a ConfigMap with "
            "profiles.yml and either an Argo Workflows DAG with one task per step of the run plan (default "
            "for several steps; independent steps run in parallel) or one batch/v1 Job per step. Each step "
            "runs the plan's dbt command with the plugin's resource requests and limits and its secrets from "
            "Kubernetes Secrets. Exit status 2 on bad input or on output that could not run on a cluster "
            "(loopback hosts, DuckDB files on a pod's own disk, out-of-range integers); nothing is "
            "written then."
        ),
    )
    parser.add_argument("floe_yaml", metavar="FLOE_YAML", help="the data product file (floe.yaml)")
    parser.add_argument("--env", help="apply this environment's overlay from the manifest")
    parser.add_argument(
        "--format",
        choices=("argo", "jobs"),
        help="argo: an Argo Workflow; jobs: one Job per step (default: argo for several steps, else jobs)",
    )
    parser.add_argument(
        "--template",
        action="store_true",
        help="with --format argo: a WorkflowTemplate to register once (`argo submit --from`)",
    )
    parser.add_argument(
        "--allow-pod-local",
        action="store_true",
        help="warn instead of refusing when steps would share DuckDB files on a pod's own disk",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default: target/floe/k8s beside FLOE_YAML); '-' prints to stdout",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Render and write (or print) the objects; say how to submit them."""
    from floe_hooks._redact import redact
    from floe_hooks.compile import compile_product
    from floe_hooks.errors import ConfigError
    from floe_hooks.kubernetes import (
        check_cluster,
        default_k8s_dir,
        default_output,
        kubernetes_objects,
        render_kubernetes,
        write_kubernetes,
    )
    from floe_hooks.manager import hook_timeout_from_env, run_with_hook_deadline
    from floe_hooks.manifest import load_product

    if args.template and args.format == "jobs":
        raise ConfigError("--template makes a WorkflowTemplate: it goes with --format argo, not jobs")
    timeout = hook_timeout_from_env()
    product = load_product(args.floe_yaml, env=args.env)
    compiled = run_with_hook_deadline(lambda: compile_product(product), timeout)
    if args.template:
        output = "workflow-template"
    elif args.format is not None:
        output = "workflow" if args.format == "argo" else "jobs"
    else:
        output = default_output(compiled)
    for warning in check_cluster(compiled, allow_pod_local=args.allow_pod_local):
        print(f"floe: warning: {' '.join(redact(str(warning)).splitlines())}", file=sys.stderr)
    if args.out == "-":
        sys.stdout.write(render_kubernetes(compiled, output=output, allow_pod_local=args.allow_pod_local))
        if output == "jobs" and len(compiled.run_plan) > 1:  # stdout is the manifest: the hint goes to stderr
            print(
                f"floe: {len(compiled.run_plan)} Jobs: apply them in order (label floe.dev/step=1, 2, ...), "
                "waiting for each to complete, or use --format argo; --out DIR prints the commands",
                file=sys.stderr,
            )
        return 0
    out = args.out if args.out is not None else default_k8s_dir(args.floe_yaml)
    path = write_kubernetes(compiled, out, output=output, allow_pod_local=args.allow_pod_local)
    print(f"wrote {path}")
    used = {step.compute for step in compiled.run_plan}
    secrets = sorted(
        {f"{b.ref.secret}/{b.ref.key}" for c in compiled.computes if c.name in used for b in c.secrets}
        | {  # the catalog's, when a step's compute attaches it
            f"{e['from']['secret']}/{e['from']['key']}"
            for catalog in [compiled.artifacts.get("catalog") or {}]
            if used & set(catalog.get("attached_by") or ())
            for e in catalog.get("env") or ()
        }
    )
    settings = product.manifest.kubernetes
    namespace = settings.namespace
    if secrets:
        print(f"needs Kubernetes Secrets (name/key) in namespace {namespace}: {', '.join(secrets)}")
    if settings.shared_volume is not None:
        print(f"needs the PersistentVolumeClaim {settings.shared_volume.claim_name} in namespace {namespace}")
    objects = kubernetes_objects(compiled, output=output, allow_pod_local=True)
    if output == "workflow":
        print("submit:")
        print(f"  kubectl apply -n {namespace} -f {path} -l app.kubernetes.io/component=dbt-profiles")
        print(f"  argo submit -n {namespace} --watch {path}")
        return 0
    if output == "workflow-template":
        print("register, then submit runs:")
        print(f"  kubectl apply -n {namespace} -f {path}")
        print(
            f"  argo submit -n {namespace} --watch --from workflowtemplate/{objects[-1]['metadata']['name']}"
        )
        return 0
    jobs = [o for o in objects if o["kind"] == "Job"]
    if len(jobs) == 1:
        print(f"apply: kubectl apply -f {path}")
        return 0
    print(
        "apply step by step (a step may read what an earlier one wrote; `kubectl apply -f` alone starts all;"
        " --format argo orders them for you):"
    )
    print(f"  kubectl apply -f {path} -l app.kubernetes.io/component=dbt-profiles")
    for step, job in enumerate(jobs, 1):
        print(
            f"  kubectl apply -f {path} -l floe.dev/step={step} && "
            f"kubectl wait -n {namespace} --for=condition=complete --timeout=6h job/{job['metadata']['name']}"
        )
    return 0
