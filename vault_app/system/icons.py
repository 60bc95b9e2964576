"""The app icon as PNGs of the usual hicolor sizes, drawn from the SVG with QtSvg.

`python -m vault_app.system.icons OUT` writes OUT/hicolor/<N>x<N>/apps/<id>.png for every size
(packaging/build puts them in the bundle); a pip install renders them the same way when the
desktop entry is installed."""

from __future__ import annotations

import sys
from pathlib import Path

from vault_app.resource_files import resource_path
from vault_app.system.desktop_entry import ICON_SIZES
from vault_app.system.launcher import APP_ID


def render_png(svg: Path, size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if QGuiApplication.instance() is None:
        # Drawing needs an application object, not a display: offscreen works anywhere.
        global _app
        _app = QGuiApplication(["token-vault", "-platform", "offscreen"])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stub says bytes; Qt wants str
    return bytes(data.data())


_app: object = None


def write_hicolor(out: Path) -> list[Path]:
    svg = resource_path("token-vault.svg")
    written = []
    for size in ICON_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render_png(svg, size))
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg.read_bytes())
    return [*written, scalable]


if __name__ == "__main__":
    for written in write_hicolor(Path(sys.argv[1])):
        print(written)
