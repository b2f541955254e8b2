"""QR codes of enrollment links, as SVG (pages) and PNG (e-mails, downloads).

The `qrcode` library computes the modules; PNG files are written here with `zlib` (no
Pillow needed). Codes of fixed URLs are cached; per-invitation codes are not (each token
is different) and skip the best-mask search, which costs most of the time.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

BOX = 8  # pixels per module in PNGs: one byte of a 1-bit image
BORDER = 4  # quiet zone in modules (the standard's minimum)


def matrix(data: str, *, fast: bool = False) -> list[list[bool]]:
    """The modules of `data`'s QR code, quiet zone included."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=BORDER,
        # Any mask is valid; searching for the best one costs ~8x the encoding.
        mask_pattern=0 if fast else None,
    )
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_from_matrix(modules: list[list[bool]]) -> bytes:
    """A 1-bit greyscale PNG, 8 pixels a module: each module is exactly one byte."""
    size = len(modules) * BOX
    rows = bytearray()
    for line in modules:
        row = b"\x00" + bytes(0x00 if dark else 0xFF for dark in line)
        rows += row * BOX
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _chunk(b"IEND", b"")
    )


def png(data: str, *, fast: bool = False) -> bytes:
    return png_from_matrix(matrix(data, fast=fast))


def svg(data: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(image_factory=SvgPathImage)
    return image.to_string(encoding="utf-8")


@lru_cache(maxsize=32)
def cached_png(data: str) -> bytes:
    return png(data)


@lru_cache(maxsize=32)
def cached_svg(data: str) -> bytes:
    return svg(data)
