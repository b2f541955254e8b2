"""SCIM errors (RFC 7644 §3.12): JSON with the Error schema, `status` as a string."""

from __future__ import annotations

import json

from flask import Response

from .schema import ERROR

MEDIA_TYPE = "application/scim+json"


class ScimError(Exception):
    def __init__(
        self, status: int, detail: str, scim_type: str | None = None, allow: str | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.allow = allow


def scim_response(body: dict | None, status: int = 200, headers: dict | None = None) -> Response:
    data = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = Response(data, status=status, headers=headers or {})
    if body is not None:
        response.headers["Content-Type"] = MEDIA_TYPE
    return response


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    body = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return scim_response(body, status, headers)


def bad_request(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)
