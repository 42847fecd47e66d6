"""A cluster-free rehearsal of an Argo Workflow that ``floe k8s`` wrote.

:func:`rehearse` runs every task of the Workflow's DAG on this machine, in an order the
DAG allows, the way Argo would run its pods:

- each attempt of each task gets a fresh, empty folder holding only what its pod would
  have: the image's dbt project (a copy of ``image_dir``, the working directory), every
  ``configMap`` volume's items, an empty folder per ``emptyDir``, and the folder standing
  for each ``persistentVolumeClaim`` (shared by every task, like the claim);
- the container's command runs as the plan recorded it (``command[0]`` is looked up on the
  "image's" ``PATH``, the one of this interpreter's environment), with exactly the
  container's ``env``: plain values as written, ``secretKeyRef`` entries from the
  ``secrets`` the test supplies (a missing one fails the task, as the kubelet would);
- ``activeDeadlineSeconds`` bounds each attempt; ``retryStrategy.limit`` retries it (without
  waiting out the backoff);
- a task runs only when every task it depends on succeeded; the others end ``Omitted``, and
  the workflow is ``Failed`` when any task failed (``failFast: false``: independent
  branches still run, as in the DAG floe writes).

The one liberty: a pod sees its volumes at absolute mount paths (``/etc/floe/dbt``,
``/data``), which this machine has not got. The harness maps each mount path to its
folder and rewrites the mount paths where they appear in the env values, the command and
the mounted ConfigMap files (``profiles.yml`` naming ``/data/raw.duckdb``).

A product whose steps share data through a catalog instead of a volume needs nothing
more: its Workflow mounts no claim, the catalog's server is reached over the network, and
its credentials are ``secrets`` like any other (pass ``claims={}``).
"""

from __future__ import annotations

import graphlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class Attempt:
    """One pod of a task: its exit code (None: it never started or hit its deadline) and output."""

    exit_code: int | None
    message: str
    stdout: str
    stderr: str


@attrs.frozen
class Node:
    """A task's node as ``argo get`` shows it: its phase and its attempts."""

    name: str
    phase: str  # Succeeded, Failed, Error or Omitted
    attempts: tuple[Attempt, ...] = ()
    message: str = ""


@attrs.frozen
class Rehearsal:
    """What the rehearsal did: the workflow's phase and each task's node, in the order they ran."""

    phase: str
    nodes: dict[str, Node]
    order: tuple[str, ...]

    def report(self) -> str:
        """A summary in the manner of ``argo get``: one line per task."""
        marks = {"Succeeded": "✔", "Failed": "✖", "Error": "⚠", "Omitted": "○"}
        lines = [f"Status: {self.phase}"]
        for name, node in self.nodes.items():
            retries = f" ({len(node.attempts)} attempts)" if len(node.attempts) > 1 else ""
            lines.append(f" {marks[node.phase]} {name} {node.phase}{retries} {node.message}".rstrip())
        return "\n".join(lines)


def _dag(workflow: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    dag = templates[workflow["spec"]["entrypoint"]]["dag"]
    return templates, {task["name"]: task for task in dag["tasks"]}


def _rewrite(text: str, mounts: Mapping[str, Path]) -> str:
    """Each mount path in ``text`` (whole, not inside another path) -> its folder, in one pass."""
    if not mounts:
        return text
    paths = sorted(mounts, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w./-])(" + "|".join(re.escape(p.rstrip("/")) for p in paths) + r")(?![\w.-])"
    )
    return pattern.sub(lambda match: str(mounts[match[1]]), text)


def _run_attempt(
    template: Mapping[str, Any],
    volumes: Mapping[str, Mapping[str, Any]],
    pod_dir: Path,
    image_dir: Path,
    configmaps: Mapping[str, Mapping[str, Any]],
    claims: Mapping[str, Path],
    secrets: Mapping[tuple[str, str], str],
) -> Attempt:
    container = template["container"]
    pod_dir.mkdir(parents=True)
    workdir = pod_dir / "workdir"
    shutil.copytree(image_dir, workdir)
    mounts: dict[str, Path] = {}
    for index, mount in enumerate(container.get("volumeMounts", [])):
        volume = volumes[mount["name"]]
        if "persistentVolumeClaim" in volume:
            mounts[mount["mountPath"]] = claims[volume["persistentVolumeClaim"]["claimName"]]
            continue
        folder = pod_dir / "volumes" / f"{index}-{mount['name']}"
        folder.mkdir(parents=True)
        mounts[mount["mountPath"]] = folder
        if "configMap" in volume:
            data = configmaps[volume["configMap"]["name"]]["data"]
            for item in volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]:
                (folder / item["path"]).write_text(data[item["key"]])
        elif "emptyDir" not in volume:
            raise AssertionError(f"the rehearsal does not know the volume {volume}")
    for folder in mounts.values():  # ConfigMap files name mount paths too
        if folder.is_relative_to(pod_dir):
            for file in folder.rglob("*"):
                if file.is_file():
                    file.write_text(_rewrite(file.read_text(), mounts))
    # The image's environment: its PATH (the dbt of this interpreter) and nothing of ours.
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = _rewrite(entry["value"], mounts)
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        value = secrets.get((ref["name"], ref["key"]))
        if value is None:
            return Attempt(None, f'secret "{ref["name"]}" key "{ref["key"]}" not found', "", "")
        env[entry["name"]] = value
    deadline = template.get("activeDeadlineSeconds")
    command = [_rewrite(arg, mounts) for arg in container["command"]] + list(container.get("args", []))
    try:
        done = subprocess.run(
            command,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=int(deadline) if deadline is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return Attempt(
            None,
            "Pod was active on the node longer than the specified deadline",
            str(exc.stdout or ""),
            str(exc.stderr or ""),
        )
    except FileNotFoundError as exc:
        return Attempt(None, f"executable not found: {exc.filename}", "", "")
    message = "" if done.returncode == 0 else f"Error (exit code {done.returncode})"
    return Attempt(done.returncode, message, done.stdout, done.stderr)


def rehearse(
    workflow: Mapping[str, Any],
    *,
    image_dir: Path,
    configmaps: Mapping[str, Mapping[str, Any]],
    work: Path,
    claims: Mapping[str, Path] | None = None,
    secrets: Mapping[tuple[str, str], str] | None = None,
) -> Rehearsal:
    """Run ``workflow``'s DAG locally; see the module docstring.

    :param image_dir: what the image holds at its working directory (the dbt project).
    :param configmaps: the ConfigMaps by name, as ``floe k8s`` wrote them.
    :param work: an empty folder for the pods' folders.
    :param claims: the folder standing for each PersistentVolumeClaim, by claim name.
    :param secrets: the value of each ``(secret name, key)`` the pods read.
    """
    templates, tasks = _dag(workflow)
    volumes = {v["name"]: v for v in workflow["spec"].get("volumes", [])}
    sorter = graphlib.TopologicalSorter({name: task.get("dependencies", []) for name, task in tasks.items()})
    nodes: dict[str, Node] = {}
    order: list[str] = []
    for name in sorter.static_order():
        upstream = tasks[name].get("dependencies", [])
        if any(nodes[u].phase != "Succeeded" for u in upstream):
            nodes[name] = Node(name, "Omitted", message="omitted: depends condition not met")
            continue
        template = templates[tasks[name]["template"]]
        limit = int(template.get("retryStrategy", {}).get("limit", 0))
        attempts: list[Attempt] = []
        for number in range(limit + 1):
            attempt = _run_attempt(
                template,
                volumes,
                work / f"{name}-{number}",
                image_dir,
                configmaps,
                claims or {},
                secrets or {},
            )
            attempts.append(attempt)
            if attempt.exit_code == 0:
                break
        order.append(name)
        last = attempts[-1]
        phase = "Succeeded" if last.exit_code == 0 else "Failed" if last.exit_code is not None else "Error"
        nodes[name] = Node(name, phase, tuple(attempts), last.message)
    phase = "Succeeded" if all(n.phase == "Succeeded" for n in nodes.values()) else "Failed"
    return Rehearsal(phase, nodes, tuple(order))
