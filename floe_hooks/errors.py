"""The error hierarchy: every error floe raises on purpose derives from :class:`FloeError`.

Errors are part of the interface. Each one knows where it comes from (a file and a
dotted field path, or a plugin and its distribution) and renders as one line that
never contains a secret value.
"""

from __future__ import annotations

__all__ = [
    "FloeError",
    "ConfigError",
    "PluginError",
    "PluginLoadError",
    "IncompatibleAPIError",
    "PluginConflictError",
    "PluginContractError",
    "UnknownComputeTypeError",
    "ComputeConnectionError",
    "ComputeTimeoutError",
]


class FloeError(Exception):
    """Base class of every error raised by floe on purpose.

    :param message: what is wrong, one line, no secret values.
    :param correlation_id: the id of the CLI run or API call, where one applies.
    """

    #: Exit status the ``floe`` command uses for this kind of error.
    exit_code: int = 2

    def __init__(self, message: str, *, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        return self.message


class ConfigError(FloeError, ValueError):
    """Bad input: a file that cannot be read, parsed or validated.

    Also a :class:`ValueError`, so model constructors can raise it from validators.

    Renders as ``<file>: <path>: <message>``, leaving out the parts that are unknown; a
    control character in the path (a key holding a line break) is shown escaped.

    :param message: what is wrong with the value.
    :param file: the file the value came from, as the user named it.
    :param path: the dotted field path inside the file, e.g. ``transforms[2].compute``.
    :param problems: every problem found, as ``(path, message)`` pairs, when a check
        found several (the message and path are the first one's). Default: the one.

    :ivar problems: the ``(path, message)`` pairs; a host application lists them
        without parsing the message.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: str | None = None,
        problems: tuple[tuple[str | None, str], ...] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.file = file
        self.path = path or None
        self.problems: tuple[tuple[str | None, str], ...] = problems or ((self.path, message),)

    def with_location(self, *, file: str | None = None, prefix: str | None = None) -> ConfigError:
        """Return a copy located in ``file``, with ``prefix`` put before the field path."""

        def located(path: str | None) -> str | None:
            if not prefix:
                return path
            return f"{prefix}{'' if not path or path.startswith('[') else '.'}{path or ''}"

        return type(self)(
            self.message,
            file=file if file is not None else self.file,
            path=located(self.path),
            problems=tuple((located(path), message) for path, message in self.problems),
            correlation_id=self.correlation_id,
        )

    def __str__(self) -> str:
        path = self.path
        if path is not None:
            from floe_hooks._rules import escape_controls

            # a key holding a line break or another control character is still one line
            path = escape_controls(path)
        return ": ".join(p for p in (self.file, path, self.message) if p)


class PluginError(FloeError):
    """Something is wrong with a plugin; names the entry point and its distribution.

    :param plugin: the plugin's registration name (the entry point name).
    :param distribution: the installed distribution that provides it, if known.
    :param version: that distribution's version, if known.

    The same three are attributes (``plugin``, ``distribution``, ``version``), and
    :attr:`cause` is the plugin's own exception, when one led to this error.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.plugin = plugin
        self.distribution = distribution
        self.version = version

    @property
    def cause(self) -> BaseException | None:
        """The exception the plugin raised that led to this error (``__cause__``), if any."""
        return self.__cause__

    def __str__(self) -> str:
        if self.plugin is None:
            return self.message
        where = f"plugin {self.plugin!r}"
        if self.distribution:
            where += f" (from {self.distribution} {self.version or '?'})"
        return f"{where}: {self.message}"


class PluginLoadError(PluginError):
    """A plugin failed to import, failed pluggy's validation, or broke the metadata contract."""


class IncompatibleAPIError(PluginLoadError):
    """A plugin declares a ``floe_api_version`` this framework cannot serve."""


class PluginConflictError(PluginLoadError):
    """Two plugins claim the same compute type; the message names both distributions."""


class PluginContractError(PluginError):
    """A plugin's hook returned something the contract does not allow (wrong type, bad value)."""


class UnknownComputeTypeError(FloeError):
    """No healthy installed plugin serves the requested compute type."""

    def __init__(self, compute_type: str, available: list[str], *, correlation_id: str | None = None) -> None:
        listed = ", ".join(sorted(available)) or "none"
        super().__init__(
            f"no installed compute plugin serves type {compute_type!r} (installed: {listed}); "
            f"install a distribution that registers a 'floe.computes' entry point for it, "
            f"e.g. pip install floe-compute-{compute_type}",
            correlation_id=correlation_id,
        )
        self.compute_type = compute_type
        self.available = sorted(available)


class ComputeConnectionError(PluginError):
    """A compute's plugin did not answer: the base of :class:`ComputeTimeoutError`.

    Health checks never raise it (``check_health`` reports ``unhealthy`` results); its
    name is the ``error.type`` of a check whose plugin answered ``unhealthy`` itself.
    The message is redacted before it is stored.
    """

    exit_code = 1


class ComputeTimeoutError(ComputeConnectionError):
    """A hook call did not finish within the timeout the framework enforces.

    Raised when ``generate_profile`` or ``resource_requirements`` overruns
    ``FLOE_HOOK_TIMEOUT`` (``floe compile``, ``floe resources``); an abandoned
    health check reports ``error.type = ComputeTimeoutError`` instead.

    :param hook: the hook that overran.
    :param timeout: the timeout that expired, in seconds.
    :ivar hook: as given.
    :ivar timeout: as given.
    """

    def __init__(
        self,
        message: str,
        *,
        hook: str | None = None,
        timeout: float | None = None,
        plugin: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            message, plugin=plugin, distribution=distribution, version=version, correlation_id=correlation_id
        )
        self.hook = hook
        self.timeout = timeout
