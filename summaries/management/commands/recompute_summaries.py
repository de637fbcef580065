"""Recompute summaries from the store: the repair path after data was fixed by hand.

    manage.py recompute_summaries                     # every enrolment of every user
    manage.py recompute_summaries --user U            # every enrolment of a user
    manage.py recompute_summaries --collection C      # every enrolment in a collection

Runs in this process (not through the workers); idempotent, so it can be re-run at will.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from summaries.repositories import enrolment_repository
from summaries.selectors import enrolments_of_user
from summaries.services import summary_recompute


class Command(BaseCommand):
    help = "Recompute the summaries (user_activity_agg and enrolment progress) from the store."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="only this user's enrolments")
        parser.add_argument("--collection", help="only enrolments in this collection")

    def handle(self, *args: Any, **options: Any) -> None:
        user, collection = options["user"], options["collection"]
        users = [user] if user else enrolment_repository().user_ids()
        done = seen = 0
        started = time.monotonic()
        for user_id in users:
            for enrolment in enrolments_of_user(user_id=user_id):
                if collection is not None and enrolment.collection_id != collection:
                    continue
                seen += 1
                result = summary_recompute(
                    user_id=enrolment.user_id,
                    collection_id=enrolment.collection_id,
                    context_id=enrolment.context_id,
                )
                done += result is not None
                rate = seen / max(time.monotonic() - started, 1e-6)
                self.stderr.write(f"\r{seen} enrolment(s), {rate:.0f}/s", ending="")
        self.stderr.write("")
        self.stdout.write(f"recomputed {done} of {seen} enrolment(s)")
