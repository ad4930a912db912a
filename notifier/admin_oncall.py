"""Admin of on-call rotations and escalation chains (issue 22 section 2; docs/oncall.md;
imported by notifier/admin.py). A rotation is edited with its members (in order) and its
overrides; a chain with its steps, each checked for what its target needs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.models import validate_time_zone
from incidents.choices import Severity
from notifier.models import (
    EscalationChain,
    EscalationStep,
    Rotation,
    RotationMember,
    RotationOverride,
)


class RotationForm(forms.ModelForm):
    time_zone = forms.CharField(max_length=64, validators=[validate_time_zone])

    class Meta:
        model = Rotation
        fields = ("name", "shift", "starts_on", "handover_time", "time_zone", "active")


class RotationMemberInline(admin.TabularInline):
    model = RotationMember
    extra = 1
    ordering = ("position",)
    autocomplete_fields = ("user",)


class OverrideForm(forms.ModelForm):
    class Meta:
        model = RotationOverride
        fields = ("user", "replaced", "starts_at", "ends_at", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            raise ValidationError({"ends_at": _("An override ends after it starts.")})
        return data


class RotationOverrideInline(admin.TabularInline):
    model = RotationOverride
    form = OverrideForm
    fk_name = "rotation"
    extra = 0
    ordering = ("-starts_at",)
    autocomplete_fields = ("user", "replaced")
    readonly_fields = ("created_by", "created_at")
    fields = ("user", "replaced", "starts_at", "ends_at", "reason", "created_by", "created_at")


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin):
    form = RotationForm
    list_display = ("name", "shift", "starts_on", "handover_time", "time_zone", "active")
    list_filter = ("active", "shift")
    search_fields = ("name",)
    inlines = [RotationMemberInline, RotationOverrideInline]

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        # An admin's override is recorded as theirs, like a taken shift is the taker's.
        for row in formset.save(commit=False):
            if isinstance(row, RotationOverride) and row.created_by_id is None:
                row.created_by = request.user
            row.save()
        for gone in formset.deleted_objects:
            gone.delete()
        formset.save_m2m()


class ChainForm(forms.ModelForm):
    severities = forms.MultipleChoiceField(
        choices=Severity.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EscalationChain
        fields = ("name", "severities", "active")


class StepFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            target = data.get("target")
            if target in (EscalationStep.ON_CALL, EscalationStep.NEXT_ON_CALL):
                if data.get("rotation") is None:
                    form.add_error("rotation", _("This target needs a rotation."))
            elif target == EscalationStep.USER and data.get("user") is None:
                form.add_error("user", _("This target needs a person."))


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    formset = StepFormSet
    extra = 1
    ordering = ("level",)
    autocomplete_fields = ("user",)


@admin.register(EscalationChain)
class EscalationChainAdmin(admin.ModelAdmin):
    form = ChainForm
    list_display = ("name", "severities", "active")
    list_filter = ("active",)
    inlines = [EscalationStepInline]
