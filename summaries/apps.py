from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "summaries"
    verbose_name = "Enrolments and summaries"

    def ready(self) -> None:
        from viewer import events

        from .receivers import on_attempt_recorded, on_completion_recorded

        events.completion_recorded.connect(
            on_completion_recorded, dispatch_uid="summaries.completion"
        )
        events.attempt_recorded.connect(on_attempt_recorded, dispatch_uid="summaries.attempt")
