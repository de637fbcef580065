"""Assessment reads: the attempts of a (collection, context), and the best one per content."""

from dataclasses import dataclass

from modes.selectors import active_policy
from viewer.identifiers import ViewTarget
from viewer.selectors import collection_find

from .domain import ArchivedScores, Attempt, BestScore, best_of
from .repositories import attempt_repository


@dataclass(frozen=True)
class AttemptReport:
    attempts: list[Attempt]
    best: dict[str, BestScore]


def _scopes(
    *, user_id: str, collection_id: str, context_id: str, content_id: str | None
) -> list[tuple[str, str, str | None]]:
    """The (collection, context, content or every content) scopes to read, per the mode."""
    policy = active_policy()
    if content_id is not None:
        key = policy.key(ViewTarget(user_id, content_id, collection_id, context_id))
        return [(key.collection_id, key.context_id, key.content_id)]
    listed = policy.read_contents(collection_find(identifier=collection_id))
    if listed is None:
        scope = policy.scope(user_id=user_id, collection_id=collection_id, context_id=context_id)
        return [(scope.collection_id, scope.context_id, None)]
    keys = dict.fromkeys(
        policy.key(ViewTarget(user_id, content, collection_id, context_id)) for content in listed
    )
    return [(key.collection_id, key.context_id, key.content_id) for key in keys]


def attempt_read(
    *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
) -> AttemptReport:
    """The user's attempts in a (collection, context) (at one content when given), ordered by
    content and time, with the best attempt per content. Archived attempts (archive_consumption)
    are not listed, but count in the best: their scores were kept."""
    repository = attempt_repository()
    scopes = _scopes(
        user_id=user_id, collection_id=collection_id, context_id=context_id, content_id=content_id
    )
    attempts = [
        attempt
        for collection, context, content in scopes
        for attempt in repository.list_scope(
            user_id=user_id, collection_id=collection, context_id=context, content_id=content
        )
    ]
    attempts.sort(key=lambda a: (a.key.content_id, a.assessment_ts, a.attempt_id))
    archived: ArchivedScores = {}
    by_scope = repository.archived_scores(
        user_id=user_id, scopes=list(dict.fromkeys((coll, ctx) for coll, ctx, _ in scopes))
    )
    for (collection, context), scores in by_scope.items():
        wanted = {content for coll, ctx, content in scopes if (coll, ctx) == (collection, context)}
        archived.update((c, best) for c, best in scores.items() if None in wanted or c in wanted)
    return AttemptReport(attempts=attempts, best=best_of(attempts, archived))
