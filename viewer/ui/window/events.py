"""The window's events for its features, as typed signals (psygnal, GUI thread only).

``result_shown(result)``: after each shown prediction. ``rendered(result)``: after every
rendered Result, empty pads and errors included (recording, --screenshot, bench
--render). ``engine_changed(model)``: after a new model or a rebuilt engine.
``shutdown(timeout)``: stop and join your threads within ``timeout`` seconds.
"""

from __future__ import annotations

from psygnal import Signal, SignalGroup

from cnn_viewer.core.dataflow.frames import Result
from cnn_viewer.models.zoo.loaded import LoadedModel


class WindowEvents(SignalGroup):
    result_shown = Signal(Result)
    rendered = Signal(Result)
    engine_changed = Signal(LoadedModel)
    shutdown = Signal(float)
