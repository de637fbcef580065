from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import InstanceConfig
from .registry import mode_names, policy_class


class InstanceConfigForm(forms.ModelForm):
    class Meta:
        model = InstanceConfig
        fields = ["mode", "copy_scope", "rules"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        modes = [(name, f"{name} - {policy_class(name).description}") for name in mode_names()]
        self.fields["mode"] = forms.ChoiceField(
            choices=modes, help_text=InstanceConfig._meta.get_field("mode").help_text
        )


@admin.register(InstanceConfig)
class InstanceConfigAdmin(admin.ModelAdmin):
    form = InstanceConfigForm
    list_display = ["mode", "copy_scope", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not InstanceConfig.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
