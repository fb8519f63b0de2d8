"""Render resources/icons/desktop-oms.svg into the PNG sizes and the Windows .ico.

    uv run python packaging/make_icons.py          # regenerate (then commit the files)
    uv run python packaging/make_icons.py --check  # exit 1 if a generated file is stale

Uses only PySide6-Essentials (QtSvg renders the SVG; no Pillow needed). Output:
resources/icons/desktop-oms-<N>.png for the freedesktop hicolor sizes, and
resources/icons/desktop-oms.ico (16-64 px as 32-bit DIBs with alpha, which every Windows
shell draws, 128 and 256 px as PNG entries, which Windows Vista and later read).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = ROOT / "resources" / "icons"
SVG = ICON_DIR / "desktop-oms.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_DIB_SIZES = (16, 24, 32, 48, 64)
ICO_PNG_SIZES = (128, 256)


def png_path(size: int) -> Path:
    return ICON_DIR / f"desktop-oms-{size}.png"


def ico_path() -> Path:
    return ICON_DIR / "desktop-oms.ico"


def _render(renderer, size: int):
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def _png_bytes(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def _dib_bytes(image) -> bytes:
    """A 32-bit BGRA DIB as stored in .ico files: header, bottom-up pixels, AND mask."""
    size = image.width()
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    stride = image.bytesPerLine()
    bits = bytes(image.constBits())  # Format_ARGB32 is B, G, R, A in memory (little endian)
    rows = [bits[y * stride : y * stride + size * 4] for y in range(size)]
    pixels = b"".join(reversed(rows))
    mask = b"\x00" * (((size + 31) // 32) * 4 * size)  # transparency comes from alpha
    return header + pixels + mask


def build_ico(images: dict[int, object]) -> bytes:
    entries = [(s, _dib_bytes(images[s])) for s in ICO_DIB_SIZES]
    entries += [(s, _png_bytes(images[s])) for s in ICO_PNG_SIZES]
    out = struct.pack("<HHH", 0, 1, len(entries))
    offset = 6 + 16 * len(entries)
    directory, blobs = b"", b""
    for size, blob in entries:
        dim = 0 if size >= 256 else size
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return out + directory + blobs


def generate() -> dict[Path, bytes]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - fonts/painter need it
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG} is not a valid SVG")
    images = {size: _render(renderer, size) for size in PNG_SIZES}
    files = {png_path(size): _png_bytes(image) for size, image in images.items()}
    files[ico_path()] = build_ico(images)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale or missing files")
    args = parser.parse_args(argv)
    files = generate()
    stale = [p for p, data in files.items() if not p.exists() or p.read_bytes() != data]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for path, data in files.items():
        if path in stale:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes)")
    if not stale:
        print("icons up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
