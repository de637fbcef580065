"""InstanceConfig: the one row that says how this instance tracks (mode, copy scope, rules)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

SINGLETON_PK = 1


class InstanceConfig(models.Model):
    class CopyScope(models.TextChoices):
        CONTENT = "content"
        COLLECTION = "collection"

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)
    mode = models.CharField(
        max_length=32,
        help_text=(
            "How progress carries between contexts. strict: progress stays where it was made. "
            "Changing the mode on a live instance does not rewrite rows already stored: reads "
            "use the new mode's keys from then on."
        ),
    )
    copy_scope = models.CharField(
        max_length=16,
        choices=CopyScope.choices,
        default=CopyScope.CONTENT,
        help_text="copy mode only: copy organic completions (content) or completions made "
        "inside other collections (collection).",
    )
    rules = models.JSONField(
        null=True,
        blank=True,
        help_text='copy/move only: {"match": "all"|"any", "rules": [{"type": '
        '"completedWithin", "unit": "days"|"months", "value": 3}, {"type": '
        '"withinContextDuration"}, {"type": "ongoingContext"}, {"type": "always"}]}. '
        "copy needs rules (none carries nothing); move defaults to ongoingContext.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "instance configuration"
        verbose_name_plural = "instance configuration"

    def __str__(self) -> str:
        return f"mode={self.mode}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = SINGLETON_PK
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from .registry import mode_names
        from .rules import RuleError, RuleSet

        if self.mode not in mode_names():
            raise ValidationError(
                {"mode": f"Unknown mode '{self.mode}'; one of: {', '.join(mode_names())}."}
            )
        try:
            rules = RuleSet.parse(self.rules)
        except RuleError as exc:
            raise ValidationError({"rules": str(exc)}) from exc
        if self.mode == "copy" and not rules.rules:
            raise ValidationError(
                {"rules": "copy mode needs rules: with none, nothing is ever copied."}
            )
