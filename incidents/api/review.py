"""The post-incident review (issue 20, section 3; docs/workspace.md):
``GET/PUT /api/incidents/{ref}/review/``, ``GET/POST /api/incidents/{ref}/follow-ups/``,
``PATCH /api/incidents/{ref}/follow-ups/{id}/`` and the review alone as a typeset PDF,
``GET /api/incidents/{ref}/review.pdf?lang=fa|en``. Thin views over incidents/workspace/.

Before the incident is restored the review reads as an empty, unfinished one (version 0,
``reviewable`` false) with the summary so far, and writing answers 409."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.legal_record import reader_language
from incidents.api.legal_referrals import incident_for
from incidents.api.serializers import MomentField, StrictInputMixin
from incidents.api.views import expected_version
from incidents.guards import has_finished_review
from incidents.legal import typeset
from incidents.legal.review_document import review_pdf
from incidents.models import AccessKind, FollowUp, Incident, Review
from incidents.models.workspace import TASK_TITLE_MAX_LENGTH, WORKSPACE_TEXT_MAX_LENGTH
from incidents.need_to_know import record_access
from incidents.workspace.follow_ups import add_follow_up, update_follow_up
from incidents.workspace.review import (
    ensure_may_write_review,
    is_reviewable,
    review_of,
    save_review,
)
from incidents.workspace.review_summary import review_summary


def _text(limit: int = WORKSPACE_TEXT_MAX_LENGTH, **options: Any) -> serializers.CharField:
    return serializers.CharField(max_length=limit, allow_blank=True, **options)


def _seconds(span: dt.timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


class ReviewWriteSerializer(StrictInputMixin, serializers.Serializer):
    """The whole review (PUT): each text may be empty; finishing needs a root cause."""

    read_only_names = ("finished_at", "finished_by", "version", "summary", "reviewable")

    root_cause = _text()
    went_well = _text()
    went_badly = _text()
    finished = serializers.BooleanField()


class ReviewDetailSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class TimelineRowSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    who = serializers.CharField()
    what = serializers.CharField()
    move = serializers.CharField(help_text="A state change in words, or empty.")
    details = serializers.SerializerMethodField()

    @extend_schema_field(ReviewDetailSerializer(many=True))
    def get_details(self, row: Any) -> list[dict[str, str]]:
        return [{"label": str(label), "value": str(value)} for label, value in row.details]


class PhaseSerializer(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.SerializerMethodField()
    ongoing = serializers.BooleanField(help_text="The incident is in this phase now.")

    def get_seconds(self, phase: Any) -> int:
        return int(phase.duration.total_seconds())


class MilestonesSerializer(serializers.Serializer):
    """Seconds; null while the incident has not reached the milestone."""

    time_to_acknowledge = serializers.IntegerField(allow_null=True, help_text="From logging.")
    time_to_scope = serializers.IntegerField(allow_null=True, help_text="Detection to restoring.")
    time_to_restore = serializers.IntegerField(allow_null=True, help_text="Detection to restored.")
    time_to_refer = serializers.IntegerField(allow_null=True, help_text="Detection to referred.")


class SummarySerializer(serializers.Serializer):
    """Drafted from the record (incidents/workspace/review_summary.py), in the reader's words."""

    phases = PhaseSerializer(many=True)
    milestones = serializers.SerializerMethodField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    timeline = TimelineRowSerializer(many=True)

    @extend_schema_field(MilestonesSerializer)
    def get_milestones(self, summary: Any) -> dict[str, int | None]:
        return {name: _seconds(span) for name, span in summary.milestones.items()}


class ReviewSerializer(serializers.ModelSerializer):
    finished = serializers.BooleanField(read_only=True)
    finished_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    reviewable = serializers.SerializerMethodField(
        help_text="Restored (or later): the review may be written."
    )
    required_to_close = serializers.SerializerMethodField(
        help_text="Closing waits for this review to be finished (its severity needs one)."
    )
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = (
            "root_cause",
            "went_well",
            "went_badly",
            "finished",
            "finished_at",
            "finished_by",
            "version",
            "reviewable",
            "required_to_close",
            "summary",
        )
        read_only_fields = fields

    def get_reviewable(self, review: Review) -> bool:
        return is_reviewable(review.incident)

    def get_required_to_close(self, review: Review) -> bool:
        return not has_finished_review(review.incident)

    @extend_schema_field(SummarySerializer)
    def get_summary(self, review: Review) -> dict[str, Any]:
        return SummarySerializer(review_summary(review.incident)).data


class FollowUpCreateSerializer(StrictInputMixin, serializers.Serializer):
    read_only_names = ("id", "done_by", "done_at", "version", "overdue")

    title = serializers.CharField(max_length=TASK_TITLE_MAX_LENGTH)
    owner = serializers.CharField(
        max_length=150, allow_blank=True, allow_null=True, required=False, help_text="A username."
    )
    due_at = MomentField(allow_null=True, required=False)
    note = _text(required=False)


class FollowUpWriteSerializer(FollowUpCreateSerializer):
    """A change (PATCH): any of the fields, and ``done`` to mark it done or not done."""

    done = serializers.BooleanField(required=False)


class FollowUpSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    done = serializers.BooleanField(read_only=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Open and past its due time.")

    class Meta:
        model = FollowUp
        fields = (
            "id",
            "title",
            "owner",
            "due_at",
            "done",
            "done_by",
            "done_at",
            "note",
            "version",
            "overdue",
        )
        read_only_fields = fields

    def get_overdue(self, follow_up: FollowUp) -> bool:
        return follow_up.is_overdue(self.context["now"])


def _review_answer(review: Review) -> Response:
    return Response(ReviewSerializer(review).data, headers={"ETag": f'"{review.version}"'})


def _follow_up_answer(
    request: Request, follow_up: FollowUp, code: int = status.HTTP_200_OK
) -> Response:
    body = FollowUpSerializer(follow_up, context={"request": request, "now": timezone.now()}).data
    return Response(body, status=code, headers={"ETag": f'"{follow_up.version}"'})


def _follow_ups(incident: Incident) -> Any:
    return incident.follow_ups.select_related("owner", "done_by")


class ReviewView(APIView):
    """Everyone who reads the incident reads its review; engineers, legal and admins write it
    (``If-Match``: the review's version, "0" before the first save)."""

    @extend_schema(responses={200: ReviewSerializer})
    def get(self, request: Request, reference: str) -> Response:
        return _review_answer(review_of(incident_for(request, reference)))

    @extend_schema(request=ReviewWriteSerializer, responses={200: ReviewSerializer})
    def put(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_write_review(request.user)
        given = ReviewWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        save_review(
            incident.reference,
            actor=request.user,
            **given.validated_data,
            expected_version=expected_version(request),
        )
        return _review_answer(review_of(incident))


class FollowUpsView(APIView):
    @extend_schema(responses={200: FollowUpSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        items = _follow_ups(incident_for(request, reference))
        context = {"request": request, "now": timezone.now()}
        return Response(FollowUpSerializer(items, many=True, context=context).data)

    @extend_schema(request=FollowUpCreateSerializer, responses={201: FollowUpSerializer})
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_write_review(request.user)
        given = FollowUpCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        follow_up, _event = add_follow_up(
            incident.reference, actor=request.user, **given.validated_data
        )
        return _follow_up_answer(request, follow_up, status.HTTP_201_CREATED)


class FollowUpView(APIView):
    @extend_schema(
        request=FollowUpWriteSerializer(partial=True), responses={200: FollowUpSerializer}
    )
    def patch(self, request: Request, reference: str, pk: int) -> Response:
        incident = incident_for(request, reference)
        follow_up = get_object_or_404(incident.follow_ups, pk=pk)
        ensure_may_write_review(request.user)
        given = FollowUpWriteSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        update_follow_up(
            incident.reference,
            follow_up.pk,
            actor=request.user,
            changes=dict(given.validated_data),
            expected_version=expected_version(request),
        )
        return _follow_up_answer(request, _follow_ups(incident).get(pk=follow_up.pk))


class ReviewQuerySerializer(serializers.Serializer):
    lang = serializers.ChoiceField(choices=typeset.LANGUAGES, required=False)


class ReviewPdfView(APIView):
    """The review alone, typeset like the dossier (whose section it also is)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "lang", str, enum=list(typeset.LANGUAGES), description="document language"
            )
        ],
        responses={(200, "application/pdf"): bytes},
    )
    def get(self, request: Request, reference: str) -> HttpResponse:
        incident = incident_for(request, reference)
        query = ReviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        language = query.validated_data.get("lang") or reader_language(request)
        record_access(request, incident, AccessKind.DOSSIER_EXPORTED, "review.pdf")
        response = HttpResponse(review_pdf(incident, language=language), "application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{incident.reference}-review.pdf"'
        response["Content-Language"] = language
        return response
