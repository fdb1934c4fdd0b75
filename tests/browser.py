"""Headless Chromium for the tests that look at a page as a person would, and a stdlib PNG reader."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

SKIP_REASON = "Chromium is not installed (apt-get install chromium); the page was checked without a browser"


def find_chromium() -> str | None:
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    step = 3 if colour_type == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * step, [], bytes(width * step)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, up_left = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(b for j in range(0, stride, step) for b in row[j:j + 3]) for row in rows]


# Without the background-networking flags Chromium reaches for the network (closed here) at every start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def look_at(page: Path, width: int, height: int) -> tuple[bytes, str]:
    """The page as a PNG screenshot of width × height, and its DOM after Chromium ran it; skips without Chromium."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(SKIP_REASON)
    screenshot = page.with_suffix(".png")
    done = subprocess.run([chromium, *FLAGS, f"--user-data-dir={page.parent / 'profile-shot'}",
                           f"--screenshot={screenshot}", f"--window-size={width},{height}", page.as_uri()],
                          capture_output=True, timeout=120)
    assert screenshot.exists(), done.stderr.decode(errors="replace")[-2000:]
    dumped = subprocess.run([chromium, *FLAGS, f"--user-data-dir={page.parent / 'profile-dom'}", "--dump-dom",
                             page.as_uri()], capture_output=True, timeout=120)
    return screenshot.read_bytes(), dumped.stdout.decode()
