"""Catalogue admin: the same validation as the API (through its input serializers)."""

from typing import Any

from django import forms
from django.contrib import admin

from .errors import ClientError
from .models import CollectionRecord, ContextRecord
from .selectors import missing_collections
from .serializers import CollectionInputSerializer, ContextInputSerializer
from .timeutil import iso
from .validation import validation_error


def _validate(form: forms.ModelForm, serializer: Any) -> None:
    if not serializer.is_valid():
        err: ClientError = validation_error(serializer.errors, prefix="")
        raise forms.ValidationError(err.message)


class CollectionForm(forms.ModelForm):
    class Meta:
        model = CollectionRecord
        fields = ["identifier", "name", "description", "logo", "children"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "children" in data and data.get("name"):
            _validate(
                self,
                CollectionInputSerializer(
                    data={"name": data["name"], "children": data["children"]},
                    context={"collection_id": data.get("identifier")},
                ),
            )
        return data


class ContextForm(forms.ModelForm):
    class Meta:
        model = ContextRecord
        fields = [
            "identifier",
            "type",
            "name",
            "collection_ids",
            "start_date",
            "end_date",
            "enrollment_end_date",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start_date") and "collection_ids" in data:
            payload = {
                "type": data.get("type"),
                "collectionIds": data["collection_ids"],
                "startDate": iso(data["start_date"]),
            }
            for field, key in (
                ("end_date", "endDate"),
                ("enrollment_end_date", "enrollmentEndDate"),
            ):
                if data.get(field):
                    payload[key] = iso(data[field])
            _validate(self, ContextInputSerializer(data=payload))
            missing = missing_collections(data["collection_ids"])
            if missing:
                raise forms.ValidationError(f"Unknown collection(s): {', '.join(missing)}.")
        return data


@admin.register(CollectionRecord)
class CollectionAdmin(admin.ModelAdmin):
    form = CollectionForm
    list_display = ["identifier", "name", "updated_at"]
    search_fields = ["identifier", "name"]


@admin.register(ContextRecord)
class ContextAdmin(admin.ModelAdmin):
    form = ContextForm
    list_display = ["identifier", "type", "start_date", "end_date", "enrollment_end_date"]
    list_filter = ["type"]
    search_fields = ["identifier", "name"]
