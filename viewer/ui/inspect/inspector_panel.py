"""The unit inspector: one channel of one layer, with its real numbers.

The map enlarged (value under the mouse), the filter weights that make it, its receptive
field on the input, the arithmetic at the hovered position (small layers), statistics,
a histogram of the layer and the channels that never fired on recent frames. Everything
here is drawn from arrays the engine (or a frozen-frame worker) already produced."""

from __future__ import annotations

from html import escape

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from cnn_viewer.core.dataflow.frames import ProbeData
from cnn_viewer.core.display.colormaps import colorize, mosaic_lut
from cnn_viewer.core.display.mosaic import LEVELS
from cnn_viewer.core.explain.inspect import (
    FiringTracker,
    arithmetic,
    channel_map,
    filter_mosaic,
    filter_of,
    histogram,
    stats,
)
from cnn_viewer.core.explain.network_map import NetworkMap
from cnn_viewer.ui.inspect.views import HistogramView, HoverView
from cnn_viewer.ui.widgets.pixel_view import PixelView

ARITHMETIC_MAX_INPUTS = 64  # conv input channels up to which the sum is written out
DETAIL_CHANNELS = 2  # input channels shown as full patch / kernel / product grids


def _grid(a: np.ndarray) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td align='right'>{v:.2f}</td>" for v in row) + "</tr>" for row in a
    )
    return f"<table cellspacing='0' cellpadding='1' style='font-size:9pt'>{rows}</table>"


def _label(text: str = "", dim: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    if dim:
        label.setObjectName("dim")
    return label


class InspectorPanel(QScrollArea):
    """Shows ``layer``/``channel`` from each ProbeData given to ``show_probe``."""

    position_changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer: str | None = None
        self.channel = 0
        self.pinned: tuple[int, int] | None = None
        self.hover: tuple[int, int] | None = None
        self.probe: ProbeData | None = None
        self.net_image: np.ndarray | None = None
        self.map: NetworkMap | None = None
        self.layer_type = ""
        self.tracker = FiringTracker(50)
        self.lut = mosaic_lut("inferno")
        self._checked: dict[tuple[int, int], bool] = {}
        self.value = float("nan")  # the value at the shown position (for tests, too)
        self.position: tuple[int, int] | None = None

        inner = QWidget()
        v = QVBoxLayout(inner)
        self.title = _label("click a channel in a mosaic, or press [ ] and , .")
        self.map_view = HoverView()
        self.map_view.setFixedSize(220, 220)
        self.map_view.hovered.connect(self._hovered)
        self.map_view.pixel_clicked.connect(self._clicked)
        self.value_label = _label()
        self.input_title = _label("receptive field on the input", dim=True)
        self.input_view = HoverView()
        self.input_view.setFixedSize(150, 150)
        self.rf_label = _label(dim=True)
        self.filter_title = _label()
        self.filter_view = PixelView()
        self.filter_note = _label(dim=True)
        self.arith_label = _label()
        self.stats_label = _label()
        self.hist_view = HistogramView()
        self.dead_label = _label()
        for w in (self.title, self.map_view, self.value_label, self.input_title, self.input_view,
                  self.rf_label, self.filter_title, self.filter_view, self.filter_note,
                  self.arith_label, self.stats_label, self.hist_view, self.dead_label):  # fmt: skip
            v.addWidget(w)
        v.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)

    # ---- selection -------------------------------------------------------------------------
    def set_unit(self, layer: str, channel: int, pos: tuple[int, int] | None = None) -> None:
        if layer != self.layer:
            self._checked.clear()
        self.layer, self.channel, self.pinned, self.hover = layer, channel, pos, None
        self.render()

    @property
    def channels(self) -> int:
        out = self._output()
        return 0 if out is None else out.shape[0]

    def _output(self) -> np.ndarray | None:
        p = self.probe
        if p is None or p.output is None or p.layer != self.layer:
            return None
        return p.output

    def show_probe(self, probe: ProbeData, net_image, net_map, layer_type: str = "") -> None:
        """A new frame's numbers (GUI thread)."""
        if probe is not self.probe:
            self._checked.clear()
            if probe.output is not None and probe.layer:
                self.tracker.add(probe.layer, probe.output)
        self.probe, self.net_image, self.map = probe, net_image, net_map
        self.layer_type = layer_type or self.layer_type
        if self.isVisible():
            self.render()

    def _hovered(self, x: int, y: int) -> None:
        self.hover = None if x < 0 else (y, x)
        self.render()

    def _clicked(self, x: int, y: int) -> None:
        self.pinned = (y, x)
        self.render()

    # ---- drawing -----------------------------------------------------------------------
    def render(self) -> None:
        out = self._output()
        if self.layer is None or out is None:
            self.title.setText(
                "click a channel in a mosaic, or press [ ] and , ." if self.layer is None
                else f"<b>{escape(self.layer)}</b>: waiting for a frame"
            )  # fmt: skip
            return
        self.channel = min(self.channel, out.shape[0] - 1)
        c = self.channel
        shape = " x ".join(map(str, out.shape))
        self.title.setText(
            f"<b>{escape(self.layer)}</b> {escape(self.layer_type)} · {shape}<br>"
            f"channel <b>{c}</b> of {out.shape[0]}"
        )
        plane = out[c] if out.ndim == 3 else out.reshape(1, -1)
        self._show_map(plane, out.ndim == 3)
        self._show_filter()
        self._show_stats(out, plane)

    def _show_map(self, plane: np.ndarray, spatial: bool) -> None:
        lo, hi = float(plane.min()), float(plane.max())
        scaled = ((plane - lo) * (LEVELS / max(hi - lo, 1e-12)) + 0.5).astype(np.uint8)
        self.map_view.set_images(colorize(scaled, self.lut))
        h, w = plane.shape
        side = 220
        # a vector is a strip: at least 16 px tall so its cells can be pointed at
        self.map_view.setFixedSize(side if w >= h else max(16, side * w // h),
                                   side if h >= w else max(16, side * h // w))  # fmt: skip
        if spatial:
            pos = self.hover or self.pinned or np.unravel_index(int(plane.argmax()), plane.shape)
            y, x = int(pos[0]), int(pos[1])
            y, x = min(y, h - 1), min(x, w - 1)
        else:
            y, x = 0, self.channel
        self.position = (y, x)
        self.value = float(plane[y, x])
        self.map_view.set_mark((y, x) if spatial else (0, x))
        where = "under the mouse" if self.hover else ("pinned" if self.pinned else "strongest")
        if spatial:
            self.value_label.setText(
                f"value at (y {y}, x {x}) = <b>{self.value:.4f}</b> <span style='color:#9aa0aa'>"
                f"({where}; click to pin)</span>"
            )
        else:
            self.value_label.setText(f"unit {self.channel} = <b>{self.value:.4f}</b>")
        self._show_receptive_field((y, x) if spatial else None)
        self._show_arithmetic(y, x if spatial else None)
        self.position_changed.emit()

    def _show_receptive_field(self, pos) -> None:
        box = None
        if self.map is not None and pos is not None:
            box = self.map.receptive_box(self.layer, *pos)
        if self.net_image is not None:
            self.input_view.set_images(self.net_image)
        self.input_view.set_box(box)
        if box is None:
            self.rf_label.setText("no single position: this value sees the whole input")
            return
        y0, x0, y1, x1 = box
        size = self.map.receptive_size(self.layer)
        self.rf_label.setText(
            f"sees rows {y0}..{y1 - 1}, columns {x0}..{x1 - 1} of the input "
            f"(a {size[0]} x {size[1]} field, clipped at the edges)"
        )

    def _chain(self):
        return None if self.map is None or self.layer is None else self.map.conv_chain(self.layer)

    def _show_filter(self) -> None:
        chain = self._chain()
        if chain is None:
            self.filter_title.setText("")
            self.filter_view.set_images()
            self.filter_view.setFixedSize(0, 0)
            self.filter_note.setText("no conv makes this layer's channels directly")
            return
        w, b = filter_of(chain, self.channel)
        img = filter_mosaic(w)
        self.filter_view.set_images(img)
        scale = max(2, min(24, 260 // max(img.shape[1], 1)))
        self.filter_view.setFixedSize(img.shape[1] * scale, img.shape[0] * scale)
        self.filter_title.setText(
            f"filter of <b>{escape(chain.conv_name)}</b> for channel {self.channel}: "
            f"{w.shape[0]} input channel(s) x {w.shape[1]} x {w.shape[2]}, bias = {b:.4f}"
        )
        shown = "" if w.shape[0] <= 64 else f"; first 64 of {w.shape[0]} shown"
        self.filter_note.setText(
            f"blue &lt; 0 &lt; red, white = 0, scale ±{float(np.abs(w).max()):.3f}{shown}"
        )

    def _show_arithmetic(self, y: int, x: int | None) -> None:
        chain, p = self._chain(), self.probe
        if chain is None or x is None or p is None or p.conv_input is None:
            self.arith_label.setText("")
            return
        if p.conv_input.shape[0] > ARITHMETIC_MAX_INPUTS:
            self.arith_label.setText(
                f"<span style='color:#9aa0aa'>arithmetic shown for layers with at most "
                f"{ARITHMETIC_MAX_INPUTS} input channels ({chain.conv_name} has "
                f"{p.conv_input.shape[0]})</span>"
            )
            return
        key = (id(p), self.channel)
        if key not in self._checked:  # does the conv alone explain this layer?
            again = channel_map(chain, p.conv_input, self.channel)[-1]
            self._checked[key] = bool(np.allclose(again, p.output[self.channel], atol=1e-4))
        if not self._checked[key]:
            self.arith_label.setText(
                f"<span style='color:#9aa0aa'>{escape(self.layer)} is not made by "
                f"{escape(chain.conv_name)} alone (a skip connection or another input is "
                "added), so no single sum gives it</span>"
            )
            return
        self.arith_label.setText(self._arithmetic_html(arithmetic(chain, p.conv_input,
                                                                  self.channel, y, x)))  # fmt: skip

    def _arithmetic_html(self, a) -> str:
        n = a.patch.shape[0]
        parts = [f"<b>How the value comes about</b> — {escape(a.conv_name)} at "
                 f"(y {a.conv_pos[0]}, x {a.conv_pos[1]}):<br>"]  # fmt: skip
        for i in range(min(n, DETAIL_CHANNELS)):
            parts.append(
                f"input channel {i}: patch<br>{_grid(a.patch[i])}kernel<br>{_grid(a.kernel[i])}"
                f"patch x kernel (sum {a.product[i].sum():.3f})<br>{_grid(a.product[i])}"
            )
        if n > DETAIL_CHANNELS:
            sums = ", ".join(f"{s:.2f}" for s in a.product.reshape(n, -1).sum(1))
            parts.append(f"sums per input channel: {sums}<br>")
        parts.append(
            f"sum of all products = {a.product.sum():.4f}<br>"
            f"+ bias {a.bias:.4f} = <b>{a.pre_activation:.4f}</b>"
        )
        for name, what, value in a.steps:
            parts.append(f"<br>→ {escape(name)} ({escape(what)}) = <b>{value:.4f}</b>")
        parts.append(f"<br>= the value shown: {a.value:.4f}")
        return "".join(parts)

    def _show_stats(self, out: np.ndarray, plane: np.ndarray) -> None:
        s = stats(plane)
        self.stats_label.setText(
            f"channel: min {s.minimum:.3f}, max {s.maximum:.3f}, mean {s.mean:.3f}, "
            f"zeros {s.zeros:.0%}<br><span style='color:#9aa0aa'>histogram of the whole "
            f"layer ({out.size} values, bar height √count)</span>"
        )
        self.hist_view.set_histogram(*histogram(out))
        dead = self.tracker.dead() if self.tracker.layer == self.layer else np.zeros(0, int)
        listed = ", ".join(map(str, dead[:12])) + (" …" if dead.size > 12 else "")
        self.dead_label.setText(
            f"<b>{dead.size}</b> of {out.shape[0]} channels never fired (&gt; 0) on the last "
            f"{self.tracker.seen} frame(s){': ' + listed if dead.size else ''}"
        )
