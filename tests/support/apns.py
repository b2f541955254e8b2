"""A stand-in for Apple Push Notification service: HTTP/2 over TLS on 127.0.0.1.

It speaks HTTP/2 only (ALPN `h2`, frames handled by the `h2` library), requires a client
certificate signed by the CA it is given (the test "Apple" of tests/apple/helpers.py), records
every request with the connection it came on, and answers 200 with an `apns-id`, or what it
was told to answer for a token (`answer(token, 410, "Unregistered")`).
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import socket
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Recorded:
    """One request, as the stand-in saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    protocol: str | None  # the ALPN protocol of the connection
    client_subject: str  # RFC 4514 subject of the client certificate
    connection: int  # connections are numbered from 1 in the order they were accepted

    def json(self):
        return json.loads(self.body)


@dataclass
class _Stream:
    headers: dict[str, str]
    body: bytearray = field(default_factory=bytearray)


def _tls_material(directory: Path) -> tuple[Path, Path, Path]:
    """A server CA, and a certificate it signs for 127.0.0.1 and localhost (EC: fast)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test APNs server CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "apns-ca.pem"
    cert_file = directory / "apns-server.pem"
    key_file = directory / "apns-server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


class APNsStandIn:
    """Run with `with APNsStandIn(client_ca) as apns:`; point APNS_URL at `apns.url` and
    APNS_CA_FILE at `apns.ca_file`."""

    def __init__(self, client_ca: x509.Certificate) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="apns-stand-in-")
        ca_file, cert_file, key_file = _tls_material(Path(self._directory.name))
        self.ca_file = str(ca_file)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file, key_file)
        self._context.verify_mode = ssl.CERT_REQUIRED
        self._context.load_verify_locations(
            cadata=client_ca.public_bytes(serialization.Encoding.PEM).decode()
        )
        self._context.set_alpn_protocols(["h2"])
        self.requests: list[Recorded] = []
        self.refused: list[str] = []  # TLS handshakes that failed, and why
        self._answers: dict[str, tuple[int, str]] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    # --- control -------------------------------------------------------------------------

    def answer(self, token: str, status: int, reason: str) -> None:
        """Answer pushes to `token` with `status` and `{"reason": reason}`."""
        self._answers[token] = (status, reason)

    def drop_connections(self) -> None:
        """Close every open connection, as APNs does with idle ones."""
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def start(self) -> APNsStandIn:
        self._spawn(self._accept_loop)
        return self

    def close(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()
        for sock in self._sockets:
            sock.close()
        self._directory.cleanup()

    def __enter__(self) -> APNsStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- serving -------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                raw, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._sockets.append(raw)
            self._spawn(self._serve, raw)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.refused.append(str(exc))
            raw.close()
            return
        self._sockets.append(tls)
        number = next(self._numbers)
        protocol = tls.selected_alpn_protocol()
        peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        subject = peer.subject.rfc4514_string()
        with tls:
            if protocol != "h2":
                return  # APNs speaks HTTP/2 only
            try:
                self._h2(tls, protocol, subject, number)
            except (ssl.SSLError, OSError, h2.exceptions.ProtocolError):
                return  # the connection was dropped

    def _h2(self, tls: ssl.SSLSocket, protocol: str, subject: str, number: int) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        streams: dict[int, _Stream] = {}
        tls.settimeout(0.1)
        while not self._stopping.is_set():
            try:
                data = tls.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    streams[event.stream_id] = _Stream(dict(event.headers))
                elif isinstance(event, h2.events.DataReceived):
                    streams[event.stream_id].body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    stream = streams.pop(event.stream_id)
                    self._respond(conn, event.stream_id, stream, protocol, subject, number)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    tls.sendall(conn.data_to_send())
                    return
            tls.sendall(conn.data_to_send())

    def _respond(self, conn, stream_id: int, stream: _Stream, protocol, subject, number) -> None:
        headers = stream.headers
        path = headers.get(":path", "")
        with self._lock:
            self.requests.append(
                Recorded(
                    method=headers.get(":method", ""),
                    path=path,
                    headers={k: v for k, v in headers.items() if not k.startswith(":")},
                    body=bytes(stream.body),
                    protocol=protocol,
                    client_subject=subject,
                    connection=number,
                )
            )
        apns_id = str(uuid.uuid4()).upper()
        token = path.rsplit("/", 1)[-1]
        status, reason = self._answers.get(token, (200, ""))
        response = [(":status", str(status)), ("apns-id", apns_id)]
        if status == 200:
            conn.send_headers(stream_id, response, end_stream=True)
            return
        body = json.dumps({"reason": reason}).encode()
        response += [("content-type", "application/json"), ("content-length", str(len(body)))]
        conn.send_headers(stream_id, response)
        conn.send_data(stream_id, body, end_stream=True)
