"""Input serializers of the catalogue endpoints."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from .models import ContextRecord
from .validation import (
    DateOrDateTimeField,
    IdField,
    StrictBooleanField,
    StrictSerializer,
    TextField,
)

MAX_TREE_DEPTH = 16
MAX_TREE_NODES = 5000
NODE_FIELDS = frozenset({"identifier", "children", "optional"})

_NODE_SCHEMA = {
    "type": "object",
    "required": ["identifier"],
    "additionalProperties": False,
    "properties": {
        "identifier": {"type": "string", "minLength": 1, "maxLength": 256},
        "children": {"type": "array", "items": {"type": "object"}},
        "optional": {"type": "boolean"},
    },
}


class _TreeChecker:
    """Walks a hierarchy, collecting errors in the shape DRF uses (so paths come out right)."""

    def __init__(self, collection_id: str | None) -> None:
        # A leaf may sit under several units (Sunbird's hierarchies do that); a unit may not
        # repeat, and no id may be both a unit and a leaf.
        self.units: set[str] = set()
        self.leaves: set[str] = set()
        self.count = 0
        self.collection_id = collection_id
        self.id_field = IdField()
        self.bool_field = StrictBooleanField()

    def check_list(self, nodes: Any, depth: int) -> Any:
        if not isinstance(nodes, list):
            return [ErrorDetail("Must be a list of nodes.", code="invalid")]
        if not nodes:
            return [ErrorDetail("Must not be empty (leave it out for a leaf).", code="invalid")]
        if depth > MAX_TREE_DEPTH:
            return [ErrorDetail(f"Nests deeper than {MAX_TREE_DEPTH} levels.", code="invalid")]
        errors = [self.check_node(node, depth) for node in nodes]
        return errors if any(errors) else None

    def check_node(self, node: Any, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_TREE_NODES:
            return [ErrorDetail(f"More than {MAX_TREE_NODES} nodes.", code="invalid")]
        if not isinstance(node, dict):
            return [ErrorDetail("Must be an object with an identifier.", code="invalid")]
        errors: dict[str, Any] = {
            key: [ErrorDetail("Unknown field.", code="unknown")]
            for key in sorted(set(node) - NODE_FIELDS)
        }
        if "identifier" not in node:
            errors["identifier"] = [ErrorDetail("This field is required.", code="required")]
        else:
            try:
                identifier = self.id_field.to_internal_value(node["identifier"])
            except serializers.ValidationError as exc:
                errors["identifier"] = exc.detail
            else:
                is_unit = bool(node.get("children"))
                if identifier == self.collection_id:
                    problem = "is the collection's own id"
                elif is_unit and identifier in self.units:
                    problem = "appears twice as a unit"
                elif identifier in (self.leaves if is_unit else self.units):
                    problem = "is both a unit and a leaf"
                else:
                    problem = None
                if problem:
                    errors["identifier"] = [
                        ErrorDetail(f"'{identifier}' {problem}.", code="invalid")
                    ]
                (self.units if is_unit else self.leaves).add(identifier)
        if "optional" in node:
            try:
                self.bool_field.to_internal_value(node["optional"])
            except serializers.ValidationError as exc:
                errors["optional"] = exc.detail
        if "children" in node:
            child_errors = self.check_list(node["children"], depth + 1)
            if child_errors:
                errors["children"] = child_errors
        return errors


@extend_schema_field({"type": "array", "minItems": 1, "items": _NODE_SCHEMA})
class HierarchyField(serializers.Field):
    """The children of a collection: a tree of ``{identifier, children?, optional?}`` nodes."""

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        collection_id = self.context.get("collection_id")
        errors = _TreeChecker(collection_id).check_list(data, depth=1)
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class CollectionInputSerializer(StrictSerializer):
    name = TextField(max_length=1000)
    description = TextField(required=False, max_length=10000)
    logo = TextField(required=False, max_length=2000)
    children = HierarchyField()


class ContextInputSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=ContextRecord.Type.values)
    name = TextField(required=False, max_length=1000)
    collectionIds = serializers.ListField(child=IdField(), min_length=1, max_length=1000)
    startDate = DateOrDateTimeField()
    endDate = DateOrDateTimeField(required=False, end_of_day=True)
    enrollmentEndDate = DateOrDateTimeField(required=False, end_of_day=True)

    def validate_type(self, value: Any) -> Any:
        if not isinstance(self.initial_data.get("type"), str):
            raise serializers.ValidationError("Must be a string.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs["startDate"], attrs.get("endDate")
        enrollment_end = attrs.get("enrollmentEndDate")
        if end is not None and end < start:
            raise serializers.ValidationError({"endDate": "Must not be before startDate."})
        if enrollment_end is not None:
            if enrollment_end < start:
                raise serializers.ValidationError(
                    {"enrollmentEndDate": "Must not be before startDate."}
                )
            if end is not None and enrollment_end > end:
                raise serializers.ValidationError(
                    {"enrollmentEndDate": "Must not be after endDate."}
                )
        return attrs
