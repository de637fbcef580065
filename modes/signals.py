"""Receivers: a saved InstanceConfig takes effect in this process at once."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import InstanceConfig
from .selectors import forget_cached_policy


@receiver(post_save, sender=InstanceConfig)
def _instance_config_saved(**kwargs: Any) -> None:
    forget_cached_policy()
