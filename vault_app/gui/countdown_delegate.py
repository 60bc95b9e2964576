"""Paints the columns that change every second (the countdowns) as plain text.

The stock delegate asks the model for about ten roles per cell and draws through the style:
about 0.2 ms a cell, 6 ms a tick for 15 rows on screen. This one gets text and colour together
from the model in Python (no data() round trip through Qt when it knows the model), fills the
selection or alternate-row background itself and draws the text clipped to the cell, measuring
each text once. An exception while painting (an odd stored value) is logged once and the cell
says "—" (see guard.py)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from vault_app.gui.account_model import TICK_ROLE, UNSHOWN, AccountFilter, AccountModel
from vault_app.gui.guard import report

PADDING = 4  # px left and right, as the style's item text margin
SELECTED = QStyle.StateFlag.State_Selected.value
ALTERNATE = QStyleOptionViewItem.ViewItemFeature.Alternate.value


class CountdownDelegate(QStyledItemDelegate):
    def __init__(
        self,
        parent: QObject | None = None,
        model: AccountModel | None = None,
        proxy: AccountFilter | None = None,
    ) -> None:
        """`model` and `proxy`: the table's, so a cell's text comes straight from the model
        (without them, through data(TICK_ROLE))."""
        super().__init__(parent)
        self.model = model
        self.proxy = proxy
        self._widths: dict[tuple[str, str], int] = {}  # (font, text) -> pixels

    def _looks(self, index: QModelIndex | QPersistentModelIndex) -> tuple[str, QColor | None]:
        model, owner = self.model, index.model()
        if model is not None and (
            owner is model or (owner is self.proxy and not self.proxy.needle)
        ):
            # The proxy keeps the source's order and, without a filter, all of its rows.
            return model.cell_looks(index.row(), index.column())
        text, color = index.data(TICK_ROLE) or ("", None)
        return str(text), color

    def _width(self, option: QStyleOptionViewItem, text: str) -> int:
        key = (option.font.key(), text)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) > 4096:  # countdown texts repeat; a cache, not a record
                self._widths.clear()
            width = self._widths[key] = option.fontMetrics.horizontalAdvance(text)
        return width

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        try:
            text, color = self._looks(index)
            self._paint(painter, option, text, color)
        except Exception as exc:
            report("CountdownDelegate.paint", exc)
            try:
                self._paint(painter, option, UNSHOWN, None)
            except Exception as again:
                report("CountdownDelegate.paint (fallback)", again)
        finally:
            painter.restore()

    def _paint(
        self, painter: QPainter, option: QStyleOptionViewItem, text: str, color: QColor | None
    ) -> None:
        palette, rect = option.palette, option.rect
        if option.state.value & SELECTED:
            painter.fillRect(rect, palette.highlight())
            color = palette.highlightedText().color()
        else:
            if option.features.value & ALTERNATE:
                painter.fillRect(rect, palette.alternateBase())
            if color is None:
                color = palette.text().color()
        painter.setPen(color)
        # At a point, not in a rectangle with alignment flags: that path lays the text out
        # anew every time and cost most of a cell's paint. Clipped to the cell.
        metrics = option.fontMetrics
        baseline = rect.y() + (rect.height() + metrics.ascent() - metrics.descent()) // 2
        room = rect.width() - 2 * PADDING
        if self._width(option, text) > room:  # a narrow column: cut with "…", not mid-glyph
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(room, 0))
        painter.setClipRect(rect)
        painter.drawText(rect.x() + PADDING, baseline, text)
