"""The instance's mode configuration and the active policy.

Each process keeps what it read for ``VIEWER_CONFIG_CACHE_SECONDS`` (a request must not pay a
query for it); a save in the same process clears it at once, other processes see a change within
that many seconds.
"""

import time

from django.conf import settings

from .models import SINGLETON_PK, InstanceConfig
from .policies.base import ModeConfig, TrackingPolicy
from .registry import policy_class

_cached: tuple[float, TrackingPolicy] | None = None


def instance_config() -> InstanceConfig:
    """The InstanceConfig row, created from VIEWER_MODE/VIEWER_COPY_SCOPE/VIEWER_CARRY_RULES on
    first use of a database."""
    config, _ = InstanceConfig.objects.get_or_create(
        pk=SINGLETON_PK,
        defaults={
            "mode": settings.VIEWER_MODE,
            "copy_scope": settings.VIEWER_COPY_SCOPE,
            "rules": settings.VIEWER_CARRY_RULES,
        },
    )
    return config


def active_policy() -> TrackingPolicy:
    global _cached
    now = time.monotonic()
    if _cached is not None and _cached[0] > now:
        return _cached[1]
    row = instance_config()
    config = ModeConfig(mode=row.mode, copy_scope=row.copy_scope, rules=row.rules)
    policy = policy_class(config.mode)(config)
    _cached = (now + settings.VIEWER_CONFIG_CACHE_SECONDS, policy)
    return policy


def forget_cached_policy() -> None:
    global _cached
    _cached = None
