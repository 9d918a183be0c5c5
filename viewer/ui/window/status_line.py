"""The window's status line and timing text, refreshed on a timer. GUI thread only."""

from __future__ import annotations


class StatusLine:
    """MainWindow's status text, as a mixin: it reads the window's ``last_result``,
    ``engine``, ``source``, ``model``, ``frames``, ``worker`` and the rate ``render``
    measures."""

    @property
    def device_name(self) -> str:
        from cnn_viewer.models.devices import describe

        return describe(self.state.model.device)

    def _update_status(self) -> None:
        """Twice a second, not per result: text changes relayout a window (measured ~1 ms
        per result for the word-wrapped timing line), and people read at this rate."""
        result = self.last_result
        if result is not None and result.top:
            t = result.timings_ms
            self.timing_label.setText(
                "per frame: "
                + ", ".join(f"{k} {v:.1f} ms" for k, v in t.items() if k != "total")
                + f"  (total {t.get('total', 0):.1f} ms)"
                + ("  · traced" if self.engine.runs_traced(self.worker.settings) else "  · eager")
            )
            note = self.engine.trace_note
            self.timing_label.setToolTip(
                note[:1].upper() + note[1:]
                or "The network runs as a TorchScript trace: faster, and it lets the "
                "mosaics be built beside the next forward pass"
            )
        elif result is not None:  # cleared, or nothing usable: no timings of an old frame
            self.timing_label.setText("")
            self.timing_label.setToolTip("")
        rate = f"{self._fps:.1f}" if self._fps else "-"
        running = "FROZEN" if self.state.frozen else f"{rate} results/s"
        source = "pad"
        if self.source is not None:
            st = self.source.status()
            source = self.source.name + ("" if st.state == "running" else f" ({st.state})")
            self.source_panel.frame_view.caption.setText(st.message or self.source.name)
        self.status_text.setText(
            f"source: {source}  |  model: {self.state.model.name}  |  "
            f"device: {self.device_name}  |  {running}  |  "
            f"dropped {self.frames.dropped}  |  threads {self.worker.threads}"
        )
