"""Tests for portal.enrollment.pki: CA, identities, PKCS#12, CMS signing and unwrapping."""

from __future__ import annotations

import datetime
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.enrollment.pki import (
    CertificateAuthority,
    PKIError,
    create_ca,
    create_signing_identity,
    identity_pkcs12,
    issue_identity,
    load_or_create_ca,
    load_or_create_signing_identity,
    load_signing_identity,
    sign_profile,
    unwrap_signed_data,
)

OPENSSL = "/usr/bin/openssl"
CONTENT = b'<?xml version="1.0"?><plist version="1.0"><dict><key>A</key><string>&amp;</string></dict></plist>\n'  # noqa: E501


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return create_ca("Example Portal CA")


@pytest.fixture(scope="module")
def signer(ca: CertificateAuthority) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    return create_signing_identity(ca, "Example Portal profile signing")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _openssl_verify(tmp_path: Path, signed: bytes, ca_cert: x509.Certificate):
    (tmp_path / "signed.der").write_bytes(signed)
    (tmp_path / "trust.pem").write_bytes(_pem(ca_cert))
    return subprocess.run(
        [
            OPENSSL, "cms", "-verify", "-inform", "DER", "-binary",
            "-in", str(tmp_path / "signed.der"),
            "-CAfile", str(tmp_path / "trust.pem"),
            "-out", str(tmp_path / "content.out"),
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip


def _ku(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


# --- CA and identities ------------------------------------------------------


def test_create_ca_is_an_rsa_2048_ca_for_ten_years(ca: CertificateAuthority) -> None:
    cert = ca.certificate
    assert isinstance(ca.private_key, rsa.RSAPrivateKey)
    assert ca.private_key.key_size == 2048
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Example Portal CA"
    assert cert.issuer == cert.subject
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    ku = _ku(cert)
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.private_key.public_key())
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=3649) < lifetime < datetime.timedelta(days=3651)
    cert.verify_directly_issued_by(cert)


def test_create_ca_refuses_an_empty_name() -> None:
    with pytest.raises(ValueError):
        create_ca("  ")


def test_issue_identity_is_a_client_certificate(ca: CertificateAuthority) -> None:
    cert, key = issue_identity(ca, "device 1", days=30)
    cert2, _ = issue_identity(ca, "device 1", days=30)
    assert key.key_size == 2048
    assert cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(ca.certificate)
    assert cert.serial_number != cert2.serial_number
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    ku = _ku(cert)
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=30) <= lifetime < datetime.timedelta(days=31)


def test_identity_never_outlives_its_ca(ca: CertificateAuthority) -> None:
    cert, _ = issue_identity(ca, "long lived", days=100_000)
    assert cert.not_valid_after_utc == ca.certificate.not_valid_after_utc


def test_signing_identity_is_a_plain_leaf(signer, ca: CertificateAuthority) -> None:
    cert, _ = signer
    cert.verify_directly_issued_by(ca.certificate)
    assert _ku(cert).digital_signature
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


# --- PKCS#12 ------------------------------------------------------------------


def test_identity_pkcs12_loads_back_with_the_password(ca: CertificateAuthority) -> None:
    cert, key = issue_identity(ca, "device p12")
    blob = identity_pkcs12(cert, key, ca.certificate, b"s3cret&<>", b"Example device")
    loaded_key, loaded_cert, extra = pkcs12.load_key_and_certificates(blob, b"s3cret&<>")
    assert loaded_cert == cert
    assert isinstance(loaded_key, rsa.RSAPrivateKey)
    assert loaded_key.private_numbers() == key.private_numbers()
    assert extra == [ca.certificate]
    named = pkcs12.load_pkcs12(blob, b"s3cret&<>")
    assert named.cert is not None and named.cert.friendly_name == b"Example device"
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(blob, b"wrong")


def test_identity_pkcs12_uses_the_apple_compatible_algorithms(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    cert, key = issue_identity(ca, "device p12")
    path = tmp_path / "id.p12"
    path.write_bytes(identity_pkcs12(cert, key, ca.certificate, b"pw", b"name"))
    info = subprocess.run(
        [OPENSSL, "pkcs12", "-info", "-noout", "-in", str(path), "-passin", "pass:pw"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert "MAC: sha1" in info
    # Both the certificate bag and the key bag, and nothing newer (PBES2/AES).
    assert info.count("pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 50000") == 2
    assert "PBES2" not in info and "AES" not in info


def test_identity_pkcs12_refuses_an_empty_password(ca: CertificateAuthority) -> None:
    cert, key = issue_identity(ca, "device")
    with pytest.raises(ValueError):
        identity_pkcs12(cert, key, ca.certificate, b"", b"name")


# --- files ----------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_load_or_create_ca_writes_private_files_and_reuses_them(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    first = load_or_create_ca(directory, "Portal CA")
    assert _mode(directory) == 0o700
    assert _mode(directory / "ca.key") == 0o600
    assert (directory / "ca.pem").is_file()
    assert not list(directory.glob("*.tmp"))
    second = load_or_create_ca(directory, "another name is ignored")
    assert second.certificate == first.certificate
    assert second.private_key.private_numbers() == first.private_key.private_numbers()
    assert x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes()) == first.certificate


def test_concurrent_first_start_creates_a_single_ca(tmp_path: Path) -> None:
    # Workers starting together must agree on one CA, not each keep their own.
    with ThreadPoolExecutor(max_workers=4) as pool:
        cas = list(pool.map(lambda _: load_or_create_ca(tmp_path / "pki", "CA"), range(4)))
    assert len({ca.certificate for ca in cas}) == 1


def test_load_or_create_ca_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    load_or_create_ca(tmp_path, "Portal CA")
    (tmp_path / "ca.key").unlink()
    with pytest.raises(PKIError, match="ca.key"):
        load_or_create_ca(tmp_path, "Portal CA")


def test_load_or_create_ca_finishes_an_interrupted_creation(tmp_path: Path) -> None:
    load_or_create_ca(tmp_path, "Portal CA")
    (tmp_path / "ca.pem").unlink()
    ca = load_or_create_ca(tmp_path, "Portal CA")
    assert ca.certificate.public_key() == ca.private_key.public_key()
    assert load_or_create_ca(tmp_path, "Portal CA").certificate == ca.certificate


def test_load_or_create_ca_refuses_a_mismatched_key(tmp_path: Path) -> None:
    load_or_create_ca(tmp_path, "Portal CA")
    other = create_ca("Other")
    (tmp_path / "ca.key").write_bytes(_key_pem(other.private_key))
    with pytest.raises(PKIError, match="does not match"):
        load_or_create_ca(tmp_path, "Portal CA")


def test_load_or_create_signing_identity_reuses_and_renews(tmp_path: Path) -> None:
    ca = load_or_create_ca(tmp_path, "Portal CA")
    cert, key = load_or_create_signing_identity(tmp_path, ca, "Portal signing")
    assert _mode(tmp_path / "signing.key") == 0o600
    again, _ = load_or_create_signing_identity(tmp_path, ca, "Portal signing")
    assert again == cert
    # Another CA (e.g. the CA files were replaced): the stale signer is replaced.
    renewed, renewed_key = load_or_create_signing_identity(tmp_path, create_ca("New"), "signing")
    assert renewed != cert
    assert renewed.public_key() == renewed_key.public_key()


def _root_intermediate_leaf():
    """A three-level chain, built by hand because create_ca allows no intermediate."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject, issuer, pub, signing_key, ca: bool, path_length: int | None):
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
            .sign(signing_key, hashes.SHA256())
        )

    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root = build("Root", "Root", root_key.public_key(), root_key, True, 1)
    inter = build("Intermediate", "Root", inter_key.public_key(), root_key, True, 0)
    leaf = build("Leaf", "Intermediate", leaf_key.public_key(), inter_key, False, None)
    return root, inter, leaf, leaf_key


def test_load_signing_identity_reads_leaf_chain_and_key(tmp_path: Path) -> None:
    root, inter, leaf, leaf_key = _root_intermediate_leaf()
    combined = tmp_path / "signing.pem"
    combined.write_bytes(_pem(leaf) + _pem(inter) + _key_pem(leaf_key))
    cert, key, chain = load_signing_identity(combined, combined)
    assert cert == leaf
    assert chain == [inter]
    assert key.public_key() == leaf_key.public_key()


def test_load_signing_identity_wants_the_leaf_first(tmp_path: Path) -> None:
    root, inter, leaf, leaf_key = _root_intermediate_leaf()
    (tmp_path / "c.pem").write_bytes(_pem(inter) + _pem(leaf))
    (tmp_path / "k.pem").write_bytes(_key_pem(leaf_key))
    with pytest.raises(PKIError, match="leaf must come first"):
        load_signing_identity(tmp_path / "c.pem", tmp_path / "k.pem")


def test_load_signing_identity_reports_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_bytes(b"not a pem")
    with pytest.raises(PKIError):
        load_signing_identity(tmp_path / "c.pem", tmp_path / "missing.pem")


# --- CMS signing ------------------------------------------------------------------


def test_signed_profile_verifies_with_openssl(signer, ca, tmp_path: Path) -> None:
    cert, key = signer
    signed = sign_profile(CONTENT, cert, key, [ca.certificate])
    result = _openssl_verify(tmp_path, signed, ca.certificate)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "content.out").read_bytes() == CONTENT
    assert set(pkcs7.load_der_pkcs7_certificates(signed)) == {cert, ca.certificate}


def test_tampered_signed_profile_fails_verification(signer, ca, tmp_path: Path) -> None:
    cert, key = signer
    signed = bytearray(sign_profile(CONTENT, cert, key, []))
    offset = bytes(signed).index(b"&amp;")
    signed[offset + 1] ^= 0x01
    result = _openssl_verify(tmp_path, bytes(signed), ca.certificate)
    assert result.returncode != 0


def test_signature_carries_the_intermediate(tmp_path: Path) -> None:
    root, inter, leaf, leaf_key = _root_intermediate_leaf()
    signed = sign_profile(CONTENT, leaf, leaf_key, [inter])
    result = _openssl_verify(tmp_path, signed, root)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "content.out").read_bytes() == CONTENT


# --- unwrap_signed_data ---------------------------------------------------------------


def test_unwrap_round_trips_sign_profile(signer) -> None:
    cert, key = signer
    assert unwrap_signed_data(sign_profile(CONTENT, cert, key, [])) == CONTENT
    assert unwrap_signed_data(sign_profile(b"", cert, key, [])) == b""
    big = bytes(range(256)) * 400
    assert unwrap_signed_data(sign_profile(big, cert, key, [])) == big


def test_unwrap_reads_streamed_ber_from_openssl(signer, tmp_path: Path) -> None:
    # -stream makes OpenSSL write indefinite lengths and a constructed OCTET STRING.
    cert, key = signer
    (tmp_path / "cert.pem").write_bytes(_pem(cert))
    (tmp_path / "key.pem").write_bytes(_key_pem(key))
    content = CONTENT * 300
    (tmp_path / "content").write_bytes(content)
    subprocess.run(
        [
            OPENSSL, "cms", "-sign", "-binary", "-nodetach", "-stream", "-outform", "DER",
            "-signer", str(tmp_path / "cert.pem"), "-inkey", str(tmp_path / "key.pem"),
            "-in", str(tmp_path / "content"), "-out", str(tmp_path / "signed.ber"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    ber = (tmp_path / "signed.ber").read_bytes()
    assert ber[1] == 0x80  # really indefinite-length BER
    assert unwrap_signed_data(ber) == content


def _tlv(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _signed_data(encap: bytes) -> bytes:
    oid_signed = bytes.fromhex("06092a864886f70d010702")
    oid_data = bytes.fromhex("06092a864886f70d010701")
    signed = _tlv(0x30, b"\x02\x01\x01" + b"\x31\x00" + _tlv(0x30, oid_data + encap) + b"\x31\x00")
    return _tlv(0x30, oid_signed + _tlv(0xA0, signed))


def test_unwrap_joins_constructed_octet_string_chunks() -> None:
    chunks = (
        _tlv(0x04, b"abc") + _tlv(0x24, _tlv(0x04, b"def") + _tlv(0x04, b"")) + _tlv(0x04, b"g")
    )
    assert unwrap_signed_data(_signed_data(_tlv(0xA0, _tlv(0x24, chunks)))) == b"abcdefg"
    assert unwrap_signed_data(_signed_data(_tlv(0xA0, _tlv(0x04, b"x" * 300)))) == b"x" * 300


def test_unwrap_returns_none_without_attached_content(signer) -> None:
    cert, key = signer
    detached = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(CONTENT)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    assert unwrap_signed_data(detached) is None
    certs_only = pkcs7.serialize_certificates([cert], serialization.Encoding.DER)
    assert unwrap_signed_data(certs_only) is None
    assert unwrap_signed_data(_signed_data(b"")) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x00",
        b"\x30\x80",
        b"\x30\x80" * 5000,
        b"\x24\x80" * 5000,
        b"\x30\x84\xff\xff\xff\xff",
        b"\x30\x89" + b"\xff" * 9,
        b"\x1f\xff\xff\xff\xff\xff\xff\x01\x00",
        CONTENT,
        _signed_data(_tlv(0xA0, _tlv(0x0C, b"utf8 string, not octets"))),
        _signed_data(_tlv(0xA0, _tlv(0x04, b"a") + _tlv(0x04, b"b"))),
        _signed_data(_tlv(0xA0, _tlv(0x04, b"abc"))) + b"\x00",
        _signed_data(_tlv(0xA0, _tlv(0x24, _tlv(0x30, b"")))),
    ],
)
def test_unwrap_returns_none_for_malformed_input(data: bytes) -> None:
    assert unwrap_signed_data(data) is None


def test_unwrap_never_raises_on_truncated_or_mutated_signatures(signer) -> None:
    cert, key = signer
    signed = sign_profile(CONTENT, cert, key, [])
    for cut in range(len(signed)):
        assert unwrap_signed_data(signed[:cut]) is None
    for index in range(0, len(signed), 7):
        mutated = bytearray(signed)
        mutated[index] ^= 0xFF
        result = unwrap_signed_data(bytes(mutated))
        assert result is None or isinstance(result, bytes)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=4096))
def test_unwrap_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    result = unwrap_signed_data(data)
    assert result is None or isinstance(result, bytes)


@settings(max_examples=300, deadline=None)
@given(prefix=st.binary(max_size=64), body=st.binary(max_size=256))
def test_unwrap_never_raises_on_plausible_headers(prefix: bytes, body: bytes) -> None:
    # Starting from a real SignedData prefix reaches deeper into the walker than pure noise.
    header = bytes.fromhex("3080 06092a864886f70d010702 a080 3080")
    result = unwrap_signed_data(header + prefix + body)
    assert result is None or isinstance(result, bytes)
