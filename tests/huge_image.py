"""A real PNG of a huge blank picture that is a small file (a decompression bomb)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def write_blank_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A 1-bit gray, all-black ``width`` x ``height`` PNG, compressed row by row (a 30000 x
    30000 one is about 490 KB on disk and 900 MB as 8-bit gray once decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none", then the packed bits
    packer = zlib.compressobj(1)
    block = row * 1000
    parts = [packer.compress(block) for _ in range(height // 1000)]
    parts += [packer.compress(row * (height % 1000)), packer.flush()]
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, gray
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return path
