"""The fake server compute of the compile and Kubernetes tests: a dbt-postgres profile with a secret.

Built with :func:`floe_hooks.testing.make_plugin`; the tests/ folder is on ``sys.path``
(tests/conftest.py), so a conftest imports it as ``from server_plugin import server_plugin``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import attrs

from floe_hooks import profile_secret
from floe_hooks.testing import make_plugin


def server_plugin(name: str, config_class: type, *, version: str = "1.0", **hooks: Any) -> ModuleType:
    """A plugin serving compute type ``name`` (adapter ``dbt-postgres>=1.9``, config ``config_class``).

    Its profile is ``{"type": "postgres", <every config field>, "password": <env_var template>,
    "threads": <the compute's, else 2>}``; ``hooks`` replace its other hooks as in ``make_plugin``.
    """

    def generate_profile(compute: Any) -> dict[str, Any]:
        fields = {field: getattr(compute.config, field) for field in attrs.fields_dict(config_class)}
        return {
            "type": "postgres",
            **fields,
            "password": profile_secret(compute, "password"),
            "threads": compute.threads or 2,
        }

    return make_plugin(
        name,
        version=version,
        config_class=config_class,
        dbt_adapter="dbt-postgres>=1.9",
        generate_profile=generate_profile,
        **hooks,
    )
