"""Opening a connection to the directory: TLS verified by the standard library, and every
failure turned into an error an admin can act on.

With ldaps:// or LDAP_START_TLS, the directory's certificate must chain to LDAP_CA_FILE (or,
without it, to the system's trusted CAs) and name the URL's host; there is no way to turn
this off.
"""

from __future__ import annotations

import logging
import ssl
import warnings
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

with warnings.catch_warnings():
    # ldap3 imports names pyasn1 has deprecated; nothing we can change.
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException, LDAPInvalidCredentialsResult

if TYPE_CHECKING:
    from .ldap import LdapSettings

log = logging.getLogger(__name__)


class LdapError(Exception):
    """The directory cannot answer; the message says what to check."""


class LdapNotConfigured(LdapError):
    pass


class LdapUnavailable(LdapError):
    pass


class _VerifiedTls(ldap3.Tls):
    """ldap3's TLS, with the certificate checked by the standard library's own context.

    ldap3 turns the context's hostname check off and matches names itself with
    `ssl.match_hostname`, deprecated since Python 3.7 and gone in 3.12; the context checks
    the chain and the name (IP addresses included) in the handshake instead. The last TLS
    failure is kept so that the error can say what went wrong.
    """

    def __init__(self, context: ssl.SSLContext):
        super().__init__(validate=ssl.CERT_REQUIRED)
        self.context = context
        self.failure: ssl.SSLError | None = None

    def wrap_socket(self, connection, do_handshake=False):
        try:
            connection.socket = self.context.wrap_socket(
                connection.socket,
                server_side=False,
                do_handshake_on_connect=do_handshake,
                server_hostname=connection.server.host,
            )
        except ssl.SSLError as exc:
            self.failure = exc
            raise


def close_connection(conn) -> None:
    """Unbind, and close the socket ldap3 leaves open when a connection attempt failed."""
    try:
        conn.unbind()
    except LDAPException:
        pass
    sock = getattr(conn, "socket", None)
    if sock is not None:
        sock.close()


def _tls(s: LdapSettings) -> _VerifiedTls | None:
    if not (s.url.lower().startswith("ldaps://") or s.start_tls):
        return None
    try:
        context = ssl.create_default_context(cafile=s.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise LdapNotConfigured(
            _l(
                "LDAP_CA_FILE (%(path)s) cannot be read as PEM certificates: %(why)s",
                path=s.ca_file,
                why=exc.reason if isinstance(exc, ssl.SSLError) else exc.strerror or exc,
            )
        ) from exc
    return _VerifiedTls(context)


def open_connection(settings: LdapSettings, user: str, password: str):
    """An open, bound connection.

    Raises LDAPInvalidCredentialsResult when the directory refuses `user`'s password,
    LdapError for everything else (configuration, network, TLS).
    """
    tls = _tls(settings)
    server = ldap3.Server(
        settings.url,
        tls=tls,
        connect_timeout=settings.timeout,
        get_info=ldap3.NONE,
        mode=ldap3.IP_V4_PREFERRED,
    )
    conn = ldap3.Connection(
        server,
        user=user or None,
        password=password or None,
        receive_timeout=settings.timeout,
        raise_exceptions=True,
        read_only=True,
        auto_referrals=False,
    )
    step = "open"
    try:
        conn.open()
        if settings.start_tls:
            step = "start_tls"
            conn.start_tls()
        step = "bind"
        conn.bind()
    except LDAPInvalidCredentialsResult:
        close_connection(conn)
        raise
    except LDAPException as exc:
        close_connection(conn)
        raise _unavailable(settings.url, step, tls) from exc
    except Exception:
        close_connection(conn)
        raise
    return conn


def _unavailable(url: str, step: str, tls: _VerifiedTls | None) -> LdapUnavailable:
    failure = tls.failure if tls is not None else None
    if isinstance(failure, ssl.SSLCertVerificationError):
        log.warning("LDAP: the certificate of %s is refused: %s", url, failure)
        return LdapUnavailable(
            _l(
                "the directory at %(url)s presented a certificate the portal does not "
                "trust (%(why)s): give its CA certificate in LDAP_CA_FILE, and use the "
                "host name the certificate names in LDAP_URL",
                url=url,
                why=failure.verify_message or failure.reason,
            )
        )
    if failure is not None:
        log.warning("LDAP: TLS with %s failed: %s", url, failure)
        return LdapUnavailable(
            _l(
                "TLS with the directory at %(url)s failed (%(why)s)",
                url=url,
                why=failure.reason or failure,
            )
        )
    if step == "start_tls":
        return LdapUnavailable(_l("the directory at %(url)s refused StartTLS", url=url))
    return LdapUnavailable(f"the directory at {url} cannot be reached")
