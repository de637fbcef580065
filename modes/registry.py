"""Mode name -> policy class. Built-in defaults, extended or replaced by the
``VIEWER_MODE_POLICIES`` setting (name -> dotted path); validated by a system check."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .policies.base import TrackingPolicy

BUILTIN_POLICIES: dict[str, str] = {
    "strict": "modes.policies.strict.StrictPolicy",
    "content": "modes.policies.content.ContentPolicy",
    "collection": "modes.policies.collection.CollectionPolicy",
    "copy": "modes.policies.copy.CopyPolicy",
    "move": "modes.policies.move.MovePolicy",
}


def policy_paths() -> dict[str, str]:
    return {**BUILTIN_POLICIES, **settings.VIEWER_MODE_POLICIES}


def mode_names() -> list[str]:
    return sorted(policy_paths())


@cache
def _import_policy(path: str) -> type[TrackingPolicy]:
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, TrackingPolicy)):
        raise TypeError(f"{path} is not a TrackingPolicy subclass")
    return cls


def policy_class(mode: str) -> type[TrackingPolicy]:
    """Raises: KeyError for an unregistered mode, ImportError/TypeError for a bad path."""
    return _import_policy(policy_paths()[mode])
