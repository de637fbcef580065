"""Show or set the instance's tracking mode.

    manage.py viewer_mode
    manage.py viewer_mode --mode copy --scope content --rules \\
        '{"rules": [{"type": "completedWithin", "unit": "months", "value": 3}]}'

Changing the mode of a live instance does not rewrite rows already stored.
"""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from modes.models import InstanceConfig
from modes.selectors import instance_config


class Command(BaseCommand):
    help = "Show or set the tracking mode, copy scope and carry-forward rules of this instance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mode", help="strict, content, collection, copy or move")
        parser.add_argument("--scope", choices=InstanceConfig.CopyScope.values)
        parser.add_argument("--rules", help="the rules as JSON; '' clears them")

    def handle(self, *args: Any, **options: Any) -> None:
        config = instance_config()
        before = config.mode
        if options["mode"] is not None:
            config.mode = options["mode"]
        if options["scope"] is not None:
            config.copy_scope = options["scope"]
        if options["rules"] is not None:
            try:
                config.rules = json.loads(options["rules"]) if options["rules"] else None
            except ValueError as exc:
                raise CommandError(f"--rules: not valid JSON ({exc})") from exc
        if any(options[name] is not None for name in ("mode", "scope", "rules")):
            try:
                config.full_clean()
            except ValidationError as exc:
                raise CommandError(
                    "; ".join(
                        f"{field}: {' '.join(messages)}"
                        for field, messages in exc.message_dict.items()
                    )
                ) from exc
            config.save()
            if config.mode != before:
                self.stderr.write(
                    f"Mode changed from {before} to {config.mode}: rows already stored are not "
                    "rewritten; reads use the new mode's keys from now on."
                )
        self.stdout.write(
            json.dumps({"mode": config.mode, "copyScope": config.copy_scope, "rules": config.rules})
        )
