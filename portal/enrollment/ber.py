"""A small BER reader for the device's signed enrollment request.

Just enough to reach the content of a CMS SignedData without verifying it: devices sign
their enrollment request with an identity chained to an Apple CA the portal does not hold.
BER (indefinite lengths, constructed OCTET STRINGs) is accepted because CMS allows it and
some encoders stream.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["unwrap_signed_data"]

_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2
_TAG_INTEGER = 0x02
_TAG_OCTET_STRING = 0x04
_TAG_OID = 0x06
_TAG_SEQUENCE = 0x10
_TAG_SET = 0x11
_CLASS_UNIVERSAL = 0
_CLASS_CONTEXT = 2
_MAX_DEPTH = 64


class _BERError(Exception):
    pass


@dataclass(frozen=True)
class _TLV:
    tag_class: int
    constructed: bool
    number: int
    start: int  # first content byte
    end: int  # one past the last content byte (before an end-of-contents marker)
    next: int  # first byte after the whole element


def _read_tlv(data: bytes, pos: int, limit: int, depth: int = 0) -> _TLV:
    if depth > _MAX_DEPTH:
        raise _BERError("nested too deeply")
    if pos >= limit:
        raise _BERError("truncated identifier")
    first = data[pos]
    pos += 1
    tag_class, constructed, number = first >> 6, bool(first & 0x20), first & 0x1F
    if number == 0x1F:
        number = 0
        while True:
            if pos >= limit or number > 0xFFFFFF:
                raise _BERError("bad high tag number")
            byte = data[pos]
            pos += 1
            number = (number << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
    if pos >= limit:
        raise _BERError("truncated length")
    length_byte = data[pos]
    pos += 1
    if length_byte == 0x80:
        if not constructed:
            raise _BERError("indefinite length on a primitive")
        child = pos
        while True:
            if child + 2 <= limit and data[child] == 0 and data[child + 1] == 0:
                return _TLV(tag_class, constructed, number, pos, child, child + 2)
            child = _read_tlv(data, child, limit, depth + 1).next
    if length_byte & 0x80:
        count = length_byte & 0x7F
        if count > 4 or pos + count > limit:
            raise _BERError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = length_byte
    if pos + length > limit:
        raise _BERError("length beyond the data")
    return _TLV(tag_class, constructed, number, pos, pos + length, pos + length)


def _children(data: bytes, tlv: _TLV, depth: int) -> list[_TLV]:
    if not tlv.constructed:
        raise _BERError("expected a constructed element")
    items: list[_TLV] = []
    pos = tlv.start
    while pos < tlv.end:
        item = _read_tlv(data, pos, tlv.end, depth)
        items.append(item)
        pos = item.next
    return items


def _expect(tlv: _TLV, tag_class: int, number: int) -> _TLV:
    if tlv.tag_class != tag_class or tlv.number != number:
        raise _BERError("unexpected tag")
    return tlv


def _octet_string(data: bytes, tlv: _TLV, depth: int = 0) -> bytes:
    _expect(tlv, _CLASS_UNIVERSAL, _TAG_OCTET_STRING)
    if not tlv.constructed:
        return data[tlv.start : tlv.end]
    if depth > _MAX_DEPTH:
        raise _BERError("nested too deeply")
    return b"".join(_octet_string(data, part, depth + 1) for part in _children(data, tlv, depth))


def _signed_content(data: bytes) -> bytes | None:
    content_info = _expect(_read_tlv(data, 0, len(data)), _CLASS_UNIVERSAL, _TAG_SEQUENCE)
    if content_info.next != len(data):
        raise _BERError("trailing data")
    ci = _children(data, content_info, 1)
    if len(ci) != 2:
        raise _BERError("ContentInfo must have two fields")
    oid = _expect(ci[0], _CLASS_UNIVERSAL, _TAG_OID)
    if oid.constructed or data[oid.start : oid.end] != _OID_SIGNED_DATA:
        return None
    wrapper = _children(data, _expect(ci[1], _CLASS_CONTEXT, 0), 2)
    if len(wrapper) != 1:
        raise _BERError("[0] must wrap exactly one SignedData")
    signed_data = _children(data, _expect(wrapper[0], _CLASS_UNIVERSAL, _TAG_SEQUENCE), 3)
    # version, digestAlgorithms, encapContentInfo, [certificates], [crls], signerInfos
    if len(signed_data) < 4:
        raise _BERError("SignedData is too short")
    _expect(signed_data[0], _CLASS_UNIVERSAL, _TAG_INTEGER)
    _expect(signed_data[1], _CLASS_UNIVERSAL, _TAG_SET)
    _expect(signed_data[-1], _CLASS_UNIVERSAL, _TAG_SET)
    encap = _children(data, _expect(signed_data[2], _CLASS_UNIVERSAL, _TAG_SEQUENCE), 4)
    if len(encap) == 1:
        _expect(encap[0], _CLASS_UNIVERSAL, _TAG_OID)
        return None  # detached signature: no content to return
    if len(encap) != 2:
        raise _BERError("EncapsulatedContentInfo must have one or two fields")
    _expect(encap[0], _CLASS_UNIVERSAL, _TAG_OID)
    explicit = _children(data, _expect(encap[1], _CLASS_CONTEXT, 0), 5)
    if len(explicit) != 1:
        raise _BERError("eContent [0] must wrap exactly one OCTET STRING")
    return _octet_string(data, explicit[0], 6)


def unwrap_signed_data(data: bytes) -> bytes | None:
    """Return the attached content of a BER/DER CMS SignedData, else None.

    The signature is NOT verified. Never raises, whatever `data` holds.
    """
    try:
        return _signed_content(bytes(data))
    except (_BERError, IndexError, TypeError, ValueError, RecursionError):
        return None
