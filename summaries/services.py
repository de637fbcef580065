"""Enrolment writes: enrol and unenrol, with the course service's rules, and the mode's hooks."""

from modes.policies.base import EnrolmentRef
from modes.selectors import active_policy
from viewer import timeutil
from viewer.catalogue import Context
from viewer.errors import (
    AlreadyEnrolledError,
    ContextCompletedError,
    EnrolmentEndedError,
    InvalidContextError,
    NotEnrolledError,
    NotFoundError,
)
from viewer.identifiers import ConsumptionKey
from viewer.selectors import context_get

from .carry import StoreCarryPort
from .domain import Enrolment
from .repositories import enrolment_repository


def _context_for(*, collection_id: str, context_id: str) -> Context:
    """Raises: InvalidContextError (unknown, or without this collection)."""
    try:
        context = context_get(identifier=context_id)
    except NotFoundError as exc:
        raise InvalidContextError(f"request.contextId: Invalid context id '{context_id}'.") from exc
    if collection_id not in context.collection_ids:
        raise InvalidContextError(
            f"request.contextId: Context '{context_id}' does not include collection "
            f"'{collection_id}'."
        )
    return context


def enrolment_create(*, user_id: str, collection_id: str, context_id: str) -> Enrolment:
    """Enrol a learner (or re-enrol, keeping the history) and run the mode's enrol hook.

    Raises: InvalidContextError, ContextCompletedError, EnrolmentEndedError,
    AlreadyEnrolledError.
    """
    at = timeutil.now()
    context = _context_for(collection_id=collection_id, context_id=context_id)
    if context.is_expired(at):
        raise ContextCompletedError(f"Context '{context_id}' has already ended.")
    if context.enrollment_end_date is not None and at > context.enrollment_end_date:
        raise EnrolmentEndedError(f"The enrolment end date of context '{context_id}' has passed.")
    repository = enrolment_repository()
    key = {"user_id": user_id, "collection_id": collection_id, "context_id": context_id}
    existing = repository.get(**key)
    if existing is not None and existing.active:
        raise AlreadyEnrolledError(
            f"User '{user_id}' is already enrolled in '{collection_id}' in '{context_id}'."
        )
    repository.activate(**key, at=at)
    active_policy().on_enrol(
        enrolment=EnrolmentRef(user_id, collection_id, context_id), port=StoreCarryPort(), at=at
    )
    enrolment = repository.get(**key)
    assert enrolment is not None
    return enrolment


def enrolment_cancel(*, user_id: str, collection_id: str, context_id: str) -> None:
    """Unenrol: the enrolment becomes inactive (its progress is kept for a re-enrolment).

    Raises: InvalidContextError, ContextCompletedError, NotEnrolledError.
    """
    context = _context_for(collection_id=collection_id, context_id=context_id)
    if context.is_expired(timeutil.now()):
        raise ContextCompletedError(f"Context '{context_id}' has already ended.")
    repository = enrolment_repository()
    key = {"user_id": user_id, "collection_id": collection_id, "context_id": context_id}
    existing = repository.get(**key)
    if existing is None or not existing.active:
        raise NotEnrolledError(
            f"User '{user_id}' is not enrolled in '{collection_id}' in '{context_id}'."
        )
    repository.deactivate(**key)


def completion_carry(*, key: ConsumptionKey) -> list[ConsumptionKey]:
    """Run the mode's completion hook for a row that reached status 2 (copy mode copies it)."""
    return active_policy().on_completion(key=key, port=StoreCarryPort(), at=timeutil.now())
