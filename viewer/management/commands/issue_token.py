"""Print a signed bearer token (and only the token) on stdout.

    manage.py issue_token --user learner-1
    manage.py issue_token --user platform --role service --ttl 86400

Signs with VIEWER_JWT_SECRET (HS256), or in local settings with the local secret it creates on
first use. With RS256/ES256 keys your identity provider issues the tokens.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from viewer.auth import ROLES, issue
from viewer.validation import MAX_ID_LENGTH


class Command(BaseCommand):
    help = "Print a signed bearer token for a user (and optionally a role)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the user id the token acts as")
        parser.add_argument("--role", choices=ROLES, help="service: any user; admin: + catalogue")
        parser.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = options["user"]
        if not user or len(user) > MAX_ID_LENGTH:
            raise CommandError(f"--user: 1 to {MAX_ID_LENGTH} characters")
        if options["ttl"] <= 0:
            raise CommandError("--ttl: must be a positive number of seconds")
        try:
            token = issue(user_id=user, role=options["role"], ttl_seconds=options["ttl"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(token)
