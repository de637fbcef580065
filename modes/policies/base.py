"""The policy interface every tracking mode implements (MODES.md).

Services never branch on the mode name: they ask the active policy. A policy is built from the
instance's configuration and holds no other state.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from viewer.identifiers import ConsumptionKey, Scope, ViewTarget


@dataclass(frozen=True)
class ModeConfig:
    """The instance configuration a policy is built from (InstanceConfig, read once and cached)."""

    mode: str
    copy_scope: str = "content"
    rules: dict[str, Any] | None = None


class TrackingPolicy(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, config: ModeConfig) -> None:
        self.config = config

    @abstractmethod
    def key(self, target: ViewTarget) -> ConsumptionKey:
        """The storage key that writes and reads of ``target`` use (one function per mode)."""

    @abstractmethod
    def scope(self, *, user_id: str, collection_id: str, context_id: str | None) -> Scope:
        """The rows a read of a whole (collection, context) returns."""
