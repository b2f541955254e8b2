"""A client for Apple's Apps and Books service (the "VPP" license management API, v2).

Only what the portal uses: the organization's assets (licence counts), the assignments,
registering users, and associating or disassociating licences. Every endpoint takes the
location token (`sToken`) as a bearer token. Apple answers errors as JSON
`{"errorNumber": …, "errorMessage": …}`, which become `AppsAndBooksError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import requests

DEFAULT_BASE_URL = "https://vpp.itunes.apple.com/mdm/v2"
MAX_PAGES = 1000
PRICING_STANDARD = "STDQ"


class AppsAndBooksError(Exception):
    """Apple refused a request, or could not be reached; `code` is Apple's errorNumber (or
    "unreachable" / "http_<status>" / "bad_response")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Asset:
    adam_id: str
    pricing_param: str
    total: int
    assigned: int
    device_assignable: bool
    platforms: tuple[str, ...]
    product_type: str


@dataclass(frozen=True)
class Assignment:
    adam_id: str
    pricing_param: str
    client_user_id: str | None
    serial_number: str | None


class AppsAndBooksClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._token = token
        self.timeout = timeout
        self._http = requests.Session()

    def _request(self, method: str, path: str, *, params=None, json=None) -> dict:
        try:
            response = self._http.request(
                method,
                f"{self.base_url}/{path}",
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise AppsAndBooksError(
                "unreachable", f"Apple's service did not answer ({exc.__class__.__name__})"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "errorNumber" in body:
            raise AppsAndBooksError(str(body["errorNumber"]), str(body.get("errorMessage") or ""))
        if response.status_code >= 400:
            raise AppsAndBooksError(f"http_{response.status_code}", response.reason or "error")
        if not isinstance(body, dict):
            raise AppsAndBooksError("bad_response", "the answer is not a JSON object")
        return body

    def _pages(self, path: str, key: str) -> Iterable[dict]:
        index = 0
        while index < MAX_PAGES:
            body = self._request("GET", path, params={"pageIndex": index})
            items = body.get(key) or []
            if not isinstance(items, list):
                raise AppsAndBooksError("bad_response", f"“{key}” is not a list")
            yield from (item for item in items if isinstance(item, dict))
            total_pages = body.get("totalPages")
            if not isinstance(total_pages, int) or index + 1 >= total_pages:
                return
            index += 1

    def assets(self) -> list[Asset]:
        result = []
        for item in self._pages("assets", "assets"):
            try:
                result.append(
                    Asset(
                        adam_id=str(item["adamId"]),
                        pricing_param=str(item.get("pricingParam") or PRICING_STANDARD),
                        total=int(item.get("totalCount") or 0),
                        assigned=int(item.get("assignedCount") or 0),
                        device_assignable=bool(item.get("deviceAssignable")),
                        platforms=tuple(str(p) for p in item.get("supportedPlatforms") or ()),
                        product_type=str(item.get("productType") or "App"),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise AppsAndBooksError("bad_response", f"an asset is malformed: {exc}") from exc
        return result

    def assignments(self) -> list[Assignment]:
        return [
            Assignment(
                adam_id=str(item.get("adamId") or ""),
                pricing_param=str(item.get("pricingParam") or PRICING_STANDARD),
                client_user_id=item.get("clientUserId"),
                serial_number=item.get("serialNumber"),
            )
            for item in self._pages("assignments", "assignments")
        ]

    def create_user(self, client_user_id: str, *, managed_apple_id: str, email: str) -> str:
        """Register a person (idempotent at Apple for the same clientUserId); the event ID."""
        user = {"clientUserId": client_user_id, "email": email}
        if managed_apple_id:
            user["managedAppleId"] = managed_apple_id
        body = self._request("POST", "users/create", json={"users": [user]})
        return str(body.get("eventId") or "")

    def _manage(self, verb: str, adam_id: str, pricing_param: str, client_user_ids, serials) -> str:
        payload: dict = {"assets": [{"adamId": adam_id, "pricingParam": pricing_param}]}
        if client_user_ids:
            payload["clientUserIds"] = list(client_user_ids)
        if serials:
            payload["serialNumbers"] = list(serials)
        return str(self._request("POST", f"assets/{verb}", json=payload).get("eventId") or "")

    def associate(
        self,
        adam_id: str,
        *,
        pricing_param: str = PRICING_STANDARD,
        client_user_ids=(),
        serial_numbers=(),
    ) -> str:
        return self._manage("associate", adam_id, pricing_param, client_user_ids, serial_numbers)

    def disassociate(
        self,
        adam_id: str,
        *,
        pricing_param: str = PRICING_STANDARD,
        client_user_ids=(),
        serial_numbers=(),
    ) -> str:
        return self._manage("disassociate", adam_id, pricing_param, client_user_ids, serial_numbers)
