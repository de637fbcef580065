"""System checks: the configured mode default and every registered policy must be usable."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .registry import mode_names, policy_class, policy_paths
from .rules import RuleError, RuleSet


@register()
def check_mode_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, path in policy_paths().items():
        try:
            policy_class(name)
        except (ImportError, TypeError) as exc:
            errors.append(Error(f"Mode '{name}': cannot use {path}: {exc}", id="modes.E001"))
    if settings.VIEWER_MODE not in mode_names():
        errors.append(
            Error(
                f"VIEWER_MODE={settings.VIEWER_MODE!r} is not a registered mode.",
                hint=f"One of: {', '.join(mode_names())}.",
                id="modes.E002",
            )
        )
    try:
        RuleSet.parse(settings.VIEWER_CARRY_RULES)
    except RuleError as exc:
        errors.append(Error(f"VIEWER_CARRY_RULES: {exc}", id="modes.E004"))
    if settings.VIEWER_COPY_SCOPE not in ("content", "collection"):
        errors.append(
            Error(
                f"VIEWER_COPY_SCOPE={settings.VIEWER_COPY_SCOPE!r} must be content or collection.",
                id="modes.E003",
            )
        )
    return errors
