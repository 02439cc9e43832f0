"""Logging in and out: bearer tokens for the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import services
from clinic.apis.common import EVERYONE
from clinic.models import AuthToken, Role
from config.api.schema import api_operation
from config.api.validation import validated_body


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class LoginUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    idle_timeout_seconds = serializers.IntegerField()
    user = LoginUserSerializer()


class LoginApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @api_operation(
        "auth_login", request=LoginInputSerializer, auth=[], responses={200: LoginOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        result = services.auth_login(**validated_body(LoginInputSerializer, request))
        user = result.user
        body = {
            "token": result.token,
            "expires_at": result.expires_at,
            "idle_timeout_seconds": int(settings.AUTH_TOKEN_IDLE_TIMEOUT.total_seconds()),
            "user": {"id": user.pk, "username": user.username, "role": user.effective_role},
        }
        return Response(LoginOutputSerializer(body).data)


class LogoutApi(APIView):
    allowed_roles = {"POST": EVERYONE}

    @api_operation("auth_logout", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        token = request.auth
        if not isinstance(token, AuthToken):
            raise NotAuthenticated()
        services.auth_logout(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
