"""MDM pushes through Apple Push Notification service (APNs).

A push is an HTTP/2 POST to `<APNS_URL>/3/device/<push token, hex>` over TLS, with the
uploaded MDM push certificate as the client certificate and `{"mdm": <PushMagic>}` as its
body; the device then connects to the portal for its commands. One HTTP/2 connection is kept
per app and reused, and replaced when another certificate is uploaded.

A push is a nudge: a failure is logged, never raised. A token APNs calls dead (410, or 400
BadDeviceToken) is cleared with a device-log entry so the portal stops pushing to it; the
device sends a new one in its next TokenUpdate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives import serialization

from ..apple import push_cert, secrets
from ..enrollment import lifecycle
from ..extensions import db
from ..models import Device
from . import push
from .push import LogNotifier, Outcome, PushTarget

log = logging.getLogger(__name__)

# If the device is offline, APNs keeps the (latest) push this long and delivers it when the
# device comes back, so a command queued meanwhile is not left waiting for another push.
EXPIRY_SECONDS = 24 * 60 * 60
# Answers meaning the token will never work again (Apple: 410 "the device token is no
# longer active for the topic"; 400 BadDeviceToken).
_DEAD = {(400, "BadDeviceToken")}
# A kept connection that APNs closed meanwhile shows up as one of these: try once more.
_STALE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass(frozen=True)
class PushResult:
    """What APNs answered (status None: it could not be reached)."""

    status: int | None
    reason: str | None = None
    apns_id: str | None = None

    @property
    def token_dead(self) -> bool:
        return self.status == 410 or (self.status, self.reason) in _DEAD


def ssl_context(
    certificate_pem: bytes, key_pem: bytes, ca_file: str | None = None
) -> ssl.SSLContext:
    """A client TLS context presenting the push certificate (and its chain).

    `ssl` loads identities from files only: the key goes to a 0600 temporary file, encrypted
    with a one-time password kept in memory, and the file is deleted once loaded.
    """
    context = ssl.create_default_context(cafile=ca_file or None)
    password = os.urandom(32).hex().encode()
    key = serialization.load_pem_private_key(key_pem, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    with tempfile.NamedTemporaryFile(prefix="apns-", suffix=".pem") as identity:
        identity.write(certificate_pem + b"\n" + encrypted)
        identity.flush()
        context.load_cert_chain(identity.name, password=password)
    return context


class APNsNotifier:
    """Sends MDM pushes to APNs with the uploaded push certificate.

    Without a usable certificate (none uploaded, or its key unreadable after a SECRET_KEY
    change) pushes are logged with a warning instead, as the development notifier does.
    `notify` runs in the background worker's app context (see push.py) and returns the
    push's `Outcome`.
    """

    def __init__(
        self,
        url: str,
        *,
        secret_key: str,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.secret_key = secret_key
        self.ca_file = ca_file or None
        self.timeout = timeout
        self.fallback = LogNotifier()
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._fingerprint: str | None = None
        self._topic: str | None = None

    # --- the connection ------------------------------------------------------------------

    def _connection(self) -> tuple[httpx.Client, str] | None:
        """The client for the current certificate and its topic; None without one."""
        row = push_cert.record()
        if row is None or not row.certificate_pem or not row.private_key or not row.topic:
            return None
        fingerprint = hashlib.sha256(row.certificate_pem.encode()).hexdigest()
        with self._lock:
            if self._client is not None and self._fingerprint == fingerprint:
                return self._client, self._topic or ""
            try:
                key_pem = secrets.decrypt(self.secret_key, row.private_key)
            except secrets.SecretUnreadable:
                log.error(
                    "The push certificate's key cannot be decrypted (SECRET_KEY changed?): "
                    "upload the certificate again"
                )
                return None
            context = ssl_context(row.certificate_pem.encode(), key_pem, self.ca_file)
            old = self._client
            self._client = httpx.Client(
                base_url=self.url,
                http1=False,
                http2=True,
                verify=context,
                timeout=self.timeout,
                # APNs asks providers to keep their connection open between pushes.
                limits=httpx.Limits(max_keepalive_connections=1, keepalive_expiry=None),
            )
            self._fingerprint, self._topic = fingerprint, row.topic
            if old is not None:
                log.info("Push certificate changed: new APNs connection")
                old.close()
            return self._client, row.topic

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = self._fingerprint = self._topic = None

    # --- pushing -------------------------------------------------------------------------

    def notify(self, device: PushTarget) -> Outcome:
        return self.notify_many([device])[0]

    def notify_many(self, devices: list[PushTarget]) -> list[Outcome]:
        """Push to every device over the one kept connection; one outcome per device, in
        order. The certificate is read once for them all.

        One push at a time: pushes sent concurrently from threads made httpx drop and reopen
        the HTTP/2 connection, and the retry then sent some pushes twice."""
        outcomes: list[Outcome | None] = [None] * len(devices)
        todo = []
        for index, device in enumerate(devices):
            if not device.push_token or not device.push_magic:
                outcomes[index] = Outcome(push.NO_TOKEN)
            else:
                todo.append(index)
        if not todo:
            return outcomes  # type: ignore[return-value]
        connection = self._connection()
        if connection is None:
            for index in todo:
                log.warning(
                    "No usable MDM push certificate (Apple setup): push to device %s logged, "
                    "not sent",
                    devices[index].device_id,
                )
                self.fallback.notify(devices[index])
                outcomes[index] = Outcome(push.NO_CERTIFICATE)
            return outcomes  # type: ignore[return-value]
        client, topic = connection
        for index in todo:
            result = self.send(client, topic, devices[index])
            outcomes[index] = self._outcome(devices[index], result)
        return outcomes  # type: ignore[return-value]

    def _outcome(self, device: PushTarget, result: PushResult) -> Outcome:
        if result.status == 200:
            log.info("MDM push sent to device %s (apns-id %s)", device.device_id, result.apns_id)
            return Outcome(push.SENT, 200)
        if result.token_dead:
            log.warning(
                "APNs refused the push token of device %s (%s %s): token cleared",
                device.device_id,
                result.status,
                result.reason,
            )
            self._forget_token(device, result)
            return Outcome(push.TOKEN_DEAD, result.status, result.reason)
        if result.status is None:
            log.warning("No answer from APNs: push to device %s not sent", device.device_id)
            return Outcome(push.UNREACHABLE)
        if result.status == 429 or result.status >= 500:
            log.warning(
                "APNs busy (%s %s): push to device %s not sent",
                result.status,
                result.reason,
                device.device_id,
            )
            return Outcome(push.BUSY, result.status, result.reason)
        # 403: certificate problems (revoked, wrong environment); 400: e.g. a topic the
        # certificate does not cover. Nothing to do per device: the admin must look.
        log.error(
            "APNs refused the push to device %s: %s %s",
            device.device_id,
            result.status,
            result.reason,
        )
        return Outcome(push.REFUSED, result.status, result.reason)

    def send(self, client: httpx.Client, topic: str, device: PushTarget) -> PushResult:
        headers = {
            "apns-topic": topic,
            "apns-push-type": "mdm",
            "apns-priority": "10",
            "apns-expiration": str(int(time.time()) + EXPIRY_SECONDS),
        }
        path = f"/3/device/{device.push_token}"
        body = {"mdm": device.push_magic}
        for attempt in (1, 2):
            try:
                response = client.post(path, headers=headers, json=body)
                break
            except _STALE as exc:
                if attempt == 2:
                    log.warning("APNs connection failed: %s", exc)
                    return PushResult(None)
            except httpx.HTTPError as exc:
                log.warning("APNs connection failed: %s", exc)
                return PushResult(None)
        apns_id = response.headers.get("apns-id")
        if response.status_code == 200:
            return PushResult(200, apns_id=apns_id)
        try:
            reason = response.json().get("reason")
        except (ValueError, AttributeError):
            reason = None
        return PushResult(response.status_code, reason=reason, apns_id=apns_id)

    def _forget_token(self, target: PushTarget, result: PushResult) -> None:
        device = db.session.get(Device, target.device_id)
        if device is None or device.push_token != target.push_token:
            return  # gone, or a new token arrived meanwhile
        device.push_token = None
        details = {"status": result.status, "reason": result.reason}
        lifecycle.log(device, "push_token.rejected", details)
        db.session.commit()


def from_config(config) -> APNsNotifier:
    return APNsNotifier(
        config["APNS_URL"],
        secret_key=config["SECRET_KEY"],
        ca_file=config.get("APNS_CA_FILE"),
        timeout=config.get("APNS_TIMEOUT", 10),
    )
