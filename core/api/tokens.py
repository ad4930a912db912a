"""API tokens: get one with a password (behind the sign-in limiter), list and revoke your own
(an admin: anyone's), and sign a token out. Tokens themselves: core.models.ApiToken."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import signin
from core.api.parsers import JSONParser
from core.authentication import ApiTokenAuthentication
from core.models import ApiToken
from core.roles import ADMIN, has_any_role


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ThrottledSerializer(serializers.Serializer):
    detail = serializers.CharField()
    retry_after = serializers.IntegerField(
        help_text="Seconds to wait (also the Retry-After header)."
    )


class CredentialsErrorSerializer(serializers.Serializer):
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
    username = serializers.ListField(child=serializers.CharField(), required=False)
    password = serializers.ListField(child=serializers.CharField(), required=False)


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown this once; only a digest of it is kept.")
    expires_at = serializers.DateTimeField()


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "user", "created", "expires_at", "last_used"]
        read_only_fields = fields


class TokenView(APIView):
    """POST {username, password} -> {token, expires_at}. Behind the sign-in limiter."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    # Forms too, as DRF's own token view takes; ours refuses JSON that breaks the parser.
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: IssuedTokenSerializer,
            400: CredentialsErrorSerializer,
            415: DetailSerializer,
            429: ThrottledSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data if hasattr(request.data, "get") else {}
        raw = data.get("username", "")
        username = (raw if isinstance(raw, str) else "")[: signin.USERNAME_MAX]
        address = signin.client_address(request)
        wait = signin.wait_seconds(address, username)
        if wait:
            # Before the password is checked: guessing gains nothing by hurrying.
            return Response(
                signin.refusal_body(wait),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        credentials = AuthTokenSerializer(data=data, context={"request": request})
        if not credentials.is_valid():
            signin.record_failure(address, username, "api")
            return Response(credentials.errors, status=status.HTTP_400_BAD_REQUEST)
        signin.record_success(address, username)
        token, key = ApiToken.issue(credentials.validated_data["user"])
        return Response({"token": key, "expires_at": token.expires_at})


class LogoutView(APIView):
    """POST: the token this request presents stops working."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None, 401: DetailSerializer})
    def post(self, request: Request) -> Response:
        ApiToken.objects.filter(pk=request.auth.pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _is_admin(request: Request) -> bool:
    return has_any_role(request.user, {ADMIN})


class MyTokensView(ListAPIView):
    """GET: the caller's working tokens (never their keys). An admin may name anyone with
    ``?user=<username>``."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenSerializer
    filter_backends: list[type] = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "user",
                OpenApiTypes.STR,
                description="Whose tokens (admins only; others may name only themselves).",
            )
        ],
        responses={
            200: ApiTokenSerializer(many=True),
            401: DetailSerializer,
            403: DetailSerializer,
            404: DetailSerializer,  # a page number past the end
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ApiToken]:
        tokens = ApiToken.objects.live().select_related("user")
        wanted = self.request.query_params.get("user")
        if wanted is None or wanted == self.request.user.get_username():
            return tokens.filter(user=self.request.user)
        if not _is_admin(self.request):
            raise PermissionDenied(_("Only an admin may list another person's tokens."))
        field = get_user_model().USERNAME_FIELD
        return tokens.filter(**{f"user__{field}": wanted})


class MyTokenView(APIView):
    """DELETE: revoke one token. Someone else's is a 404 unless the caller is an admin."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: None, 401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}
    )
    def delete(self, request: Request, pk: int) -> Response:
        tokens = ApiToken.objects.all()
        if not _is_admin(request):
            tokens = tokens.filter(user=request.user)
        token = tokens.filter(pk=pk).first()
        if token is None:
            raise NotFound(_("No such token."))
        token.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
