"""The hook contract: everything a compute plugin can implement.

``floe_hooks.hookspecs`` is the plugin author's manual. A compute plugin is a module (or any
object) with functions named after the hooks below, each decorated with
:data:`floe_hooks.hookimpl`, registered under the ``floe.computes`` entry-point
group of its distribution::

    # setup.cfg of your distribution
    [options.entry_points]
    floe.computes =
        mycompute = floe_mycompute

Rules that hold for every hook:

* **Dispatch is by compute type.** A hook is only ever called for a compute whose
  ``type`` is listed in your :class:`~floe_hooks.PluginMetadata`'s ``compute_types``;
  you never see other plugins' computes and never need to return ``None`` for them.
  Exactly one installed plugin may serve a compute type.
* **Take only the arguments you need.** pluggy passes arguments by name, so
  ``def validate_connection(compute): ...`` is a valid implementation.
* **Return the documented type.** The framework checks every return value; a wrong
  type is reported as a :class:`~floe_hooks.PluginContractError` naming your
  plugin and distribution, and the other plugins keep working.
* **Never run a user's SQL.** dbt does that, through the profile you generate.
* **Never write, log or return a secret value.** Secrets reach you as
  :class:`~floe_hooks.SecretValue` (``reveal()`` them only into a driver call) and
  reach dbt as ``env_var()`` templates from :func:`~floe_hooks.profile_secret`.
* **Import heavy drivers lazily**, inside the hook that needs them: ``floe plugins``
  imports your module, and must stay fast.

Version history: ``floe_api_version`` ``1.0`` introduced all hooks below except
:func:`catalog_profile` and :func:`exclusive_resources`; ``1.1`` added those two optional
hooks and ``PluginMetadata.catalog_types``. A plugin declaring ``1.0`` loads under a ``1.1``
framework unchanged: it attaches no catalog and declares no exclusive resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from floe_hooks._markers import hookspec

if TYPE_CHECKING:
    from floe_hooks.catalog import LakehouseCatalog
    from floe_hooks.models import (
        CatalogConfig,
        ComputeConfig,
        ConnectionResult,
        PluginMetadata,
        ResourceSpec,
        SqlStatement,
    )
    from floe_hooks.secrets import SecretValue

#: Hooks every compute plugin must implement; a plugin missing one fails to load.
REQUIRED_HOOKS = ("plugin_metadata", "generate_profile", "validate_connection", "resource_requirements")

#: Hooks a plugin may leave out; calling one it lacks raises ``PluginContractError``.
OPTIONAL_HOOKS = ("catalog_attachment_sql", "catalog_profile", "exclusive_resources")


@hookspec(firstresult=True)
def plugin_metadata() -> PluginMetadata:  # type: ignore[empty-body]
    """Describe the plugin: who it is, which API it speaks, which compute types it serves.

    Called once per process, right after the plugin is imported, before any other hook.
    The framework uses the answer to route every other hook call (``compute_types``),
    to refuse plugins written for another contract (``floe_api_version``), to structure
    the ``config:`` block of your computes (``config_class``) and to list the plugin in
    ``floe plugins``.

    :return: a :class:`~floe_hooks.PluginMetadata`. Must not be ``None``.

        * ``floe_api_version`` is ``"MAJOR.MINOR"``: the plugin loads when MAJOR equals
          the framework's :data:`~floe_hooks.FLOE_API_VERSION` major and MINOR is not newer.
        * ``compute_types`` must be non-empty; a type claimed by another installed
          plugin is a conflict and neither plugin gets it.
        * ``config_class`` is a frozen attrs class (``@attrs.frozen``; or ``None``):
          floe hands one instance to every hook call. Unknown keys and wrong types in a
          compute's ``config:`` are then errors with their field path
          (``compute.approved[0].config.path: required field is missing``). Each
          ``:ivar name:`` line of its docstring becomes that field's ``description`` in
          ``floe schema manifest``, which editors show. Give it as a ``"module:Class"``
          string to import it only when a config is read (a module of many attrs
          classes costs milliseconds that ``floe plugins`` need not pay).
        * ``dbt_adapter`` is a pip requirement (``dbt-duckdb>=1.9``) recorded in the
          compiled artifact so the runner installs the right adapter.

    :raises: nothing on purpose: an exception here marks the plugin failed to load.

    Example::

        @hookimpl
        def plugin_metadata():
            return PluginMetadata(
                name="mycompute",
                version="1.2.0",
                floe_api_version="1.0",
                compute_types=("mycompute",),
                description="MyCompute warehouse",
                dbt_adapter="dbt-mycompute>=1.9",
                config_class=MyComputeConfig,
            )
    """


@hookspec(firstresult=True)
def generate_profile(compute: ComputeConfig) -> dict[str, Any]:  # type: ignore[empty-body]
    """Return the dbt ``profiles.yml`` output for one compute.

    Called by ``floe compile`` once per approved compute of your type, after the
    environment overlay is applied. The framework puts the dict under
    ``<product>.outputs.<compute.name>`` of ``profiles.yml``; dbt then runs the SQL.

    Keep it pure and fast: no network, no files. Under ``floe compile``, ``floe k8s``
    and ``floe resources`` each call of this hook (and of ``resource_requirements``)
    must return within ``FLOE_HOOK_TIMEOUT`` seconds (default 30): a slower one is
    stopped with a :class:`~floe_hooks.ComputeTimeoutError` naming your plugin and the
    hook, and nothing is written (an interrupted or killed compile, too, leaves the
    previous outputs as they were). The compute is frozen all the way down (read-only
    dicts, tuples): build your output in new dicts; writing into the config raises
    ``TypeError``. What you print goes to stderr.

    **Compute-level settings win.** ``compute.threads`` is dbt's ``threads`` and
    ``compute.timeout_seconds`` the health check's timeout; put them in the profile
    as they are. A config field of the same name means something else in your
    engine (DuckDB's ``threads`` is its worker threads, not dbt's): document it so.

    :param compute: the resolved compute. ``compute.config`` is an instance of your
        ``config_class`` (or ``None`` when you declared none); ``compute.threads`` and
        ``compute.timeout_seconds`` are the manifest's settings, if any;
        ``compute.credentials`` holds references, never values.
    :return: a JSON/YAML-serialisable ``dict`` that the dbt adapter accepts, with a
        string ``"type"`` (the dbt adapter type, e.g. ``"duckdb"``). Every setting of
        your typed config must reach it (no silent drops). Secrets appear only as
        templates from :func:`~floe_hooks.profile_secret`
        (``"{{ env_var('DBT_ENV_SECRET_PG_PASSWORD') }}"``).

        **Strings are literals; use** :func:`~floe_hooks.profile_secret` **or**
        :class:`~floe_hooks.DbtTemplate` **for Jinja.** dbt renders every string of
        ``profiles.yml`` through Jinja; ``floe compile`` writes each plain ``str`` you
        return so that dbt renders it back to exactly that text (a manifest value
        holding ``{{ env_var('AWS_SECRET_ACCESS_KEY') }}`` stays that text). Only a
        ``DbtTemplate`` is written for dbt to render: ``profile_secret`` returns one, and
        you may wrap a template your plugin wrote
        (``DbtTemplate("{{ env_var('DBT_THREADS') | int }}")``), never a manifest value.
        ``str`` operations return plain ``str``, so wrap the finished text. A literal
        may not contain ``DBT_ENV_SECRET`` (dbt replaces it in every rendered value).
    :raises ConfigError: for a combination of settings the adapter cannot express;
        give the field ``path`` (``ConfigError("...", path="credentials.password")``)
        so the message points into the manifest
        (``manifest.yaml: compute.approved[name=pg].credentials.password: ...``).

    Example::

        @hookimpl
        def generate_profile(compute):
            cfg = compute.config
            return {
                "type": "postgres",
                "host": cfg.host,
                "port": cfg.port,
                "user": cfg.user,
                "password": profile_secret(compute, "password"),
                "dbname": cfg.dbname,
                "schema": cfg.schema,
                "threads": compute.threads or 4,
            }
    """


@hookspec(firstresult=True)
def validate_connection(  # type: ignore[empty-body]
    compute: ComputeConfig, timeout: float, secrets: Mapping[str, SecretValue]
) -> ConnectionResult:
    """Check, fast, that the compute answers, using the engine's native driver.

    Called by ``floe validate`` and :func:`floe_hooks.check_health`, concurrently for
    many computes, each call in its own worker thread. Never use ``dbt debug`` and
    never run user SQL: connect, run a cheap probe that reads the database, report.

    * **Read the data.** A probe that does not touch the database (``select 1`` on a
      file engine, ``select sqlite_version()``) reports a text file as healthy: read
      the catalog (``select count(*) from sqlite_master``).
    * **Create nothing.** Open files read-only; a missing database is ``unhealthy``,
      never a new empty one. Build ``file:`` URIs with
      ``pathlib.Path(path).resolve().as_uri()``, which escapes ``?``, ``#`` and ``%``.
    * **Close what you open** (``contextlib.closing``), within ``timeout``.
    * **The working directory** is the process's: a relative path resolves as dbt
      resolves it only where dbt runs. ``floe validate floe.yaml`` first changes to
      the folder of ``floe.yaml`` (where dbt runs); ``floe validate manifest.yaml``
      and :func:`~floe_hooks.check_health` keep the caller's working directory.

    :param compute: the resolved compute, as for :func:`generate_profile`.
    :param timeout: seconds the framework will wait. Pass it to your driver's connect
        and statement timeouts; the framework enforces it anyway and reports a check
        that overruns as unhealthy ("timed out"), abandoning its thread.
    :param secrets: the compute's secrets resolved at check time, keyed by their path
        (``"password"`` for ``credentials.password``, ``"config.secrets[0].secret"``...).
        A reference that cannot be resolved never reaches you: the framework reports it.
    :return: a :class:`~floe_hooks.ConnectionResult`: ``healthy`` when the probe
        succeeded, ``degraded`` when the compute is usable with a caveat (say which in
        ``warnings``), ``unhealthy`` when it is not. ``latency_ms`` is what you measured.
        Catch your driver's errors and return ``unhealthy`` with a message that does not
        repeat any secret (drivers echo DSNs: build the message yourself).
    :raises: nothing on purpose. An exception is turned into an unhealthy result naming
        your plugin and the error class, its message redacted.

    Example::

        @hookimpl
        def validate_connection(compute, timeout, secrets):
            import time, mydriver
            start = time.perf_counter()
            try:
                with mydriver.connect(host=compute.config.host, timeout=timeout,
                                      password=secrets["password"].reveal()) as conn:
                    conn.execute("select 1")
            except mydriver.Error as exc:
                return ConnectionResult(status="unhealthy", latency_ms=elapsed(start),
                                        message=f"connection failed: {type(exc).__name__}")
            return ConnectionResult(status="healthy", latency_ms=elapsed(start))
    """


@hookspec(firstresult=True)
def resource_requirements(compute: ComputeConfig) -> ResourceSpec:  # type: ignore[empty-body]
    """Return the CPU/memory requests and limits of the dbt job pod for this compute.

    Called by ``floe compile``, ``floe resources`` and the Kubernetes output. An
    in-process engine (DuckDB) needs the pod sized for the work; a remote warehouse
    needs only a small pod, since the work runs in the database.

    :param compute: the resolved compute. ``compute.resources`` is the manifest's
        choice: a preset name (``small``, ``medium``, ``large``), an explicit
        :class:`~floe_hooks.ResourceSpec`, or ``None`` (your default).
        :meth:`ResourceSpec.resolve <floe_hooks.ResourceSpec.resolve>` implements the
        usual policy in one call.
    :return: a :class:`~floe_hooks.ResourceSpec` (validated quantities, request <= limit).
        The presets (CPU, memory, ephemeral storage; request / limit):

        * ``small``: 100m / 500m, 256Mi / 512Mi, 100Mi / 500Mi
        * ``medium``: 500m / 2000m, 1Gi / 4Gi, 500Mi / 2Gi
        * ``large``: 2000m / 8000m, 4Gi / 16Gi, 1Gi / 5Gi

    Example::

        @hookimpl
        def resource_requirements(compute):
            return ResourceSpec.resolve(compute.resources, default="small")
    """


@hookspec(firstresult=True)
def catalog_attachment_sql(  # type: ignore[empty-body]
    compute: ComputeConfig, catalog: CatalogConfig, secrets: Mapping[str, SecretValue]
) -> list[SqlStatement]:
    """Return the SQL that attaches the engine to an Iceberg REST catalog. Optional.

    Engines that read Iceberg through SQL (DuckDB's ``iceberg`` extension) implement
    this; others leave it out, and asking for it raises ``PluginContractError``.

    :param compute: the resolved compute.
    :param catalog: the catalog to attach: alias ``name``, ``uri``, ``warehouse`` and
        OAuth2 settings (references only).
    :param secrets: the catalog's credentials resolved, keyed ``"client_id"`` and
        ``"client_secret"`` (absent when the catalog has none).
    :return: a list of :class:`~floe_hooks.SqlStatement`, run in order. Validate
        identifiers and escape every literal: a hostile catalog name, URI or warehouse
        must stay inside its literal. Mark each statement that carries a credential
        ``sensitive=True``; the framework then never logs or traces its text.

    Example::

        @hookimpl
        def catalog_attachment_sql(compute, catalog, secrets):
            return [
                SqlStatement("INSTALL iceberg"),
                SqlStatement("LOAD iceberg"),
                SqlStatement(f"CREATE SECRET ... CLIENT_SECRET {quote(secrets['client_secret'].reveal())}",
                             sensitive=True),
                SqlStatement(f"ATTACH {quote(catalog.warehouse)} AS {ident(catalog.name)} (TYPE iceberg)"),
            ]
    """


@hookspec(firstresult=True)
def catalog_profile(  # type: ignore[empty-body]
    compute: ComputeConfig, catalog: LakehouseCatalog, profile: dict[str, Any]
) -> dict[str, Any]:
    """Attach the manifest's lakehouse catalog to a compute's dbt output. Optional (API 1.1).

    This is how computes exchange tables: every compute whose plugin can attach the
    manifest's ``catalog:`` attaches it under ``catalog.name`` and writes its models there
    by default, so ``ref('stg_orders')`` names the same table on every compute and the
    dbt project needs no ``+database``. ``floe compile`` calls this hook right after
    :func:`generate_profile`, once per approved compute, only when the manifest declares a
    catalog whose ``type`` your :class:`~floe_hooks.PluginMetadata` lists in
    ``catalog_types``; declaring a type there without implementing this hook is a
    ``PluginContractError`` at compile time. ``floe run`` refuses, before any dbt runs, a
    dependency edge between two computes that do not both attach the catalog
    (:func:`floe_hooks.catalog.edge_problem`), so declare only what you really attach.

    :param compute: the resolved compute, as for :func:`generate_profile`.
    :param catalog: the resolved :class:`~floe_hooks.catalog.LakehouseCatalog`: ``name``
        (the SQL name to attach it as), ``type`` (``ducklake`` or ``iceberg_rest``),
        ``metadata`` (DuckLake's store: PostgreSQL ``host``/``port``/``dbname``/``user``,
        or a DuckDB file ``path``), ``data_path`` (a folder or ``s3://bucket/prefix/``),
        ``storage`` (object-store endpoint, region, URL style, TLS), Iceberg REST ``uri``,
        ``warehouse``, ``oauth2_server_uri``, ``scope``, and ``credentials`` (references only).
    :param profile: the output your :func:`generate_profile` returned for this compute
        (your own copy).
    :return: the complete output with the catalog attached and made the default database
        of models. Secrets only as templates from
        :func:`floe_hooks.catalog.catalog_template`
        (``{{ env_var('DBT_ENV_SECRET_CATALOG_LAKE_PASSWORD') }}``);
        every other string is a literal, as for :func:`generate_profile`.
    :raises ConfigError: for a catalog your engine cannot attach as configured (say why,
        with a ``path`` such as ``catalog.data_path``).

    Example (DuckDB, through dbt-duckdb's ``attach``)::

        @hookimpl
        def catalog_profile(compute, catalog, profile):
            profile = dict(profile)
            profile["attach"] = [*profile.get("attach", []), {
                "path": f"ducklake:{catalog.metadata.path}", "alias": catalog.name,
                "is_ducklake": True, "options": {"data_path": catalog.data_path}}]
            profile["database"] = catalog.name
            return profile
    """


@hookspec(firstresult=True)
def exclusive_resources(compute: ComputeConfig) -> list[str]:  # type: ignore[empty-body]
    """Name what a dbt run on this compute holds that no other process may hold meanwhile. Optional.

    ``floe run`` runs independent steps of the run plan at the same time, one dbt process
    per step. Some engines allow only one process at a time on a resource: DuckDB locks
    a database file for the process that opens it for writing, and a file attached by a
    second process collides with that lock. Declare such resources here; two steps whose
    lists share any string never run concurrently (they still run, one after the other,
    in the graph's order). Added in ``floe_api_version`` ``1.1``; a plugin without it
    (every ``1.0`` plugin) declares none, which is right for a server-based engine whose
    server arbitrates concurrent sessions.

    Called by ``floe run`` (and :func:`floe_hooks.run_product`) once per compute of your
    type that has a step, before any step starts. Keep it pure and fast: no network, no
    file access.

    :param compute: the resolved compute, as for :func:`generate_profile`.
    :return: a list of strings, each an opaque resource key compared for equality with
        the keys of every other compute (of any plugin). Use a canonical spelling so two
        computes naming one resource produce the same key: for a local file, ``"file:"``
        and its normalised path as the profile gives it (relative paths resolve against
        dbt's working directory, the project folder; ``floe run`` also uses ``file:`` keys
        to tell whether the data changed since the last run). An empty list: nothing
        exclusive.
    :raises ConfigError: never for valid settings; the config was checked when loaded.

    Example::

        @hookimpl
        def exclusive_resources(compute):
            cfg = compute.config
            if cfg.path == ":memory:":
                return []
            files = [cfg.path, *(a.path for a in cfg.attach if "://" not in a.path)]
            return [f"file:{os.path.normpath(f)}" for f in files]
    """
