"""Secret references, resolved secret values, and how they reach dbt.

A manifest never holds a secret value, only a reference: ``{env: VAR}`` for local
work, ``{secret: NAME, key: KEY}`` for a Kubernetes Secret, or both. In
``profiles.yml`` each reference becomes ``{{ env_var('DBT_ENV_SECRET_<COMPUTE>_<FIELD>') }}``:
dbt scrubs ``DBT_ENV_SECRET_`` values from its logs, and the compute name keeps two
computes of one type apart.

That template is a :class:`DbtTemplate`: the one kind of ``profiles.yml`` string dbt
renders as Jinja. Every other string a plugin returns is a literal, written so that dbt
gives back exactly that text (see :func:`floe_hooks.compile.dbt_literal`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import attrs

from floe_hooks.errors import ConfigError

__all__ = [
    "SecretRef",
    "SecretValue",
    "SecretBinding",
    "DbtTemplate",
    "secret_bindings",
    "secret_variable",
    "profile_secret",
    "resolve_secrets",
    "MASK",
    "SECRET_METADATA",
]

MASK = "**********"

#: The ``attrs`` metadata key that marks a field of a plugin's config class as a secret:
#: ``password: str | None = attrs.field(default=None, metadata={SECRET_METADATA: True})``
#: makes any literal value there a load error (use a :class:`SecretRef` field to accept a
#: reference). ``{SECRET_METADATA: False}`` exempts a field whose name only looks secret
#: (``secret_name``) from floe's name heuristic. See ``docs/writing-plugins.md``.
SECRET_METADATA = "floe_secret"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_K8S_KEY = re.compile(r"[-._a-zA-Z0-9]+")


# A reference's text is never echoed in an error: a secret pasted where its name belongs
# ({env: <the secret itself>}) must not be repeated on stderr, any more than a literal one.
_NOT_SHOWN = "the value is not shown, in case it is a secret pasted where a reference belongs"


def _check_env(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (len(value) > 255 or not _ENV_NAME.fullmatch(value)):
        raise ConfigError(
            "must be an environment variable name (letters, digits and '_', not starting with a "
            f"digit, at most 255 characters); {_NOT_SHOWN}",
            path=attribute.name,
        )


def _check_secret_name(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (len(value) > 253 or not _K8S_NAME.fullmatch(value)):
        raise ConfigError(
            f"must be a Kubernetes Secret name (lowercase DNS subdomain); {_NOT_SHOWN}", path=attribute.name
        )


def _check_secret_key(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (len(value) > 253 or not _K8S_KEY.fullmatch(value)):
        raise ConfigError(
            f"must be a Kubernetes Secret key (letters, digits, '-', '_', '.'); {_NOT_SHOWN}",
            path=attribute.name,
        )


@attrs.frozen
class SecretRef:
    """Where a secret comes from; never the secret itself.

    ``env`` names an environment variable (local runs and ``floe validate``);
    ``secret``/``key`` name a Kubernetes Secret and its key (Kubernetes Jobs).
    Both may be given, so one manifest serves both worlds.
    """

    env: str | None = attrs.field(default=None, validator=_check_env)
    secret: str | None = attrs.field(default=None, validator=_check_secret_name)
    key: str | None = attrs.field(default=None, validator=_check_secret_key)

    def __attrs_post_init__(self) -> None:
        if self.env is None and self.secret is None:
            raise ConfigError("a secret reference needs {env: VAR} or {secret: NAME, key: KEY}")
        if (self.secret is None) != (self.key is None):
            raise ConfigError("a Kubernetes secret reference needs both 'secret' and 'key'")

    def describe(self) -> str:
        """A human description of the reference (safe to log)."""
        parts = []
        if self.env is not None:
            parts.append(f"env {self.env}")
        if self.secret is not None:
            parts.append(f"secret {self.secret}/{self.key}")
        return ", ".join(parts)


class DbtTemplate(str):
    """A ``profiles.yml`` string that dbt renders as Jinja, on purpose.

    dbt renders every string of ``profiles.yml`` through Jinja. ``floe compile`` therefore
    writes each plain ``str`` of a profile as a literal that renders back to exactly
    itself: a manifest value holding ``{{ env_var('AWS_SECRET_ACCESS_KEY') }}`` reaches
    dbt as that text, never as the variable's value. A ``DbtTemplate`` is written as it is,
    so dbt renders it: :func:`profile_secret` returns one, and a plugin may build its own::

        output["threads"] = DbtTemplate("{{ env_var('DBT_THREADS') | int }}")

    Only wrap text your plugin wrote; never put manifest values into a template (that is
    the injection this type exists to prevent). ``str`` operations return plain ``str``:
    ``DbtTemplate(a) + b`` is a literal again, so build the whole text, then wrap it.

    It is a ``str`` (it compares, hashes and serialises to JSON as its text) and survives
    ``copy``, ``deepcopy`` and ``pickle`` as a ``DbtTemplate``. floe's own YAML dumper
    (the one ``floe compile`` writes profiles.yml with) writes it as a plain string;
    PyYAML's global dumpers are left alone, so ``yaml.safe_dump`` refuses it as it refuses
    any ``str`` subclass (dump ``str(template)`` there).
    """

    __slots__ = ()

    def __new__(cls, template: str) -> DbtTemplate:
        """Mark ``template`` (text your plugin wrote) for dbt to render."""
        if not isinstance(template, str):
            raise TypeError(f"a DbtTemplate is made from a str, not {type(template).__name__}")
        return super().__new__(cls, template)

    def __repr__(self) -> str:
        return f"DbtTemplate({str.__repr__(self)})"


class _Compute(Protocol):
    """What secrets are looked up in: a :class:`floe_hooks.ComputeConfig` (the models import this module)."""

    @property
    def name(self) -> str: ...
    @property
    def config(self) -> Any: ...
    @property
    def credentials(self) -> Mapping[str, SecretRef]: ...


class SecretValue:
    """A resolved secret. ``repr``/``str`` mask it; :meth:`reveal` is the only way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret in clear text. Pass it to a driver, nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return f"SecretValue({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # pickling would write the clear text somewhere
        raise TypeError("SecretValue cannot be pickled")


@attrs.frozen
class SecretBinding:
    """One secret a compute needs: where in the compute it sits and what feeds it.

    :ivar path: the field path inside the compute (``password``, ``config.secrets[0].secret``).
    :ivar variable: the ``DBT_ENV_SECRET_...`` variable dbt reads it from.
    :ivar ref: the reference that feeds the variable.
    """

    path: str
    variable: str
    ref: SecretRef


def secret_variable(compute_name: str, path: str) -> str:
    """The dbt environment variable for the secret at ``path`` of compute ``compute_name``.

    >>> secret_variable("pg", "password")
    'DBT_ENV_SECRET_PG_PASSWORD'
    >>> secret_variable("lake", "config.secrets[0].secret")
    'DBT_ENV_SECRET_LAKE_SECRETS_0_SECRET'
    """
    field = path.removeprefix("credentials.").removeprefix("config.")
    raw = f"{compute_name}_{field}"
    return "DBT_ENV_SECRET_" + re.sub(r"[^A-Z0-9]+", "_", raw.upper()).strip("_")


#: Scalars: nothing inside them to search (the secret-reference and literal-secret walks skip them).
_LEAVES = (str, int, float, bool, type(None))


def _walk(value: Any, path: str) -> Iterator[tuple[str, SecretRef]]:
    from floe_hooks._walk import walk  # not at import: `floe plugins` never walks a config

    found = walk(value, path, into_attrs=True, skip=_LEAVES)
    return ((where, item) for where, item in found if isinstance(item, SecretRef))


def secret_bindings(compute: _Compute) -> tuple[SecretBinding, ...]:
    """Every secret reference of a compute, in its credentials and its typed config.

    Credentials keep their bare name as path (``password``); references inside the
    plugin config are found wherever a :class:`SecretRef` sits (``config.secrets[0].secret``).
    """
    found = [(name, ref) for name, ref in compute.credentials.items()]
    found.extend(_walk(compute.config, "config") if compute.config is not None else ())
    return tuple(SecretBinding(path, secret_variable(compute.name, path), ref) for path, ref in found)


def profile_secret(compute: _Compute, path: str) -> DbtTemplate:
    """The ``profiles.yml`` value for the secret at ``path``: an ``env_var()`` template.

    Plugins call this in ``generate_profile`` instead of writing any secret value::

        output["password"] = profile_secret(compute, "password")

    The result is a :class:`DbtTemplate` (``{{ env_var('DBT_ENV_SECRET_...') }}``), so dbt
    renders it; a hand-written ``"{{ env_var(...) }}"`` string would reach dbt as literal text.

    :raises ConfigError: when the compute has no secret reference at ``path``.
    """
    for binding in secret_bindings(compute):
        if binding.path == path:
            return DbtTemplate("{{ env_var('" + binding.variable + "') }}")
    raise ConfigError(f"compute {compute.name!r} has no secret reference at {path!r}", path=path)


def resolve_secrets(
    compute: _Compute, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, SecretValue], list[str]]:
    """Resolve a compute's secret references from the environment, at check time.

    Looks up each reference's ``env`` variable, then its ``DBT_ENV_SECRET_...`` variable
    (what a dbt job pod receives). Returns the resolved values by path and, for every
    reference that could not be resolved, a message naming the variable (never a value).
    """
    return _resolve_bindings(secret_bindings(compute), os.environ if environ is None else environ)


def _resolve_bindings(
    bindings: Iterable[SecretBinding], env: Mapping[str, str]
) -> tuple[dict[str, SecretValue], list[str]]:
    values: dict[str, SecretValue] = {}
    missing: list[str] = []
    for binding in bindings:
        names = [n for n in (binding.ref.env, binding.variable) if n]
        for name in names:
            if name in env:
                values[binding.path] = SecretValue(env[name])
                break
        else:
            missing.append(f"{binding.path}: environment variable {' or '.join(names)} is not set")
    return values, missing
