"""The guided walk's numbers as HTML, one kind of stage each: a conv's patch, kernel and
sums, a ReLU's before and after, a pool's window, a linear layer's terms, the softmax,
each beside torch's own value (cnn_viewer.core.explain.walk.Step). Any thread; no widgets."""

from __future__ import annotations

from html import escape

import numpy as np
from torch import nn

from cnn_viewer.core.explain.walk import Step

GRID_MAX = 8  # patches, kernels and windows up to 8 x 8 are drawn as grids of numbers
TERMS = 8  # terms of a weighted sum listed one by one
OK_TOLERANCE = 1e-3


def num(v: float) -> str:
    """A number as a learner reads it: 3 decimals, e-notation only when tiny or huge."""
    v = float(v) + 0.0  # no "-0.000" for a negative zero
    if v == 0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e5:
        return f"{v:.3g}"
    return f"{v:.3f}"


def cell(v: float) -> str:
    """A number in a grid: 3 decimals always (tiny values read 0), so grids stay narrow."""
    r = round(float(v), 3) + 0.0
    return "0" if r == 0 else f"{r:.3f}"


def where(pos: tuple[int, ...]) -> str:
    if len(pos) == 3:
        return f"channel {pos[0]}, row {pos[1]}, column {pos[2]}"
    if len(pos) == 1:
        return f"unit {pos[0]}"
    return str(pos)


def grid(values: np.ndarray, bold: tuple[int, int] | None = None, caption: str = "") -> str:
    """A small table of numbers (one cell per value)."""
    rows = []
    for r, row in enumerate(values):
        cells = []
        for c, v in enumerate(row):
            text = cell(v)
            if bold == (r, c):
                text = f"<b><span style='color:#ffd166'>{text}</span></b>"
            cells.append(f"<td align='right'>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = f"<tr><td colspan='{values.shape[1]}'><i>{caption}</i></td></tr>" if caption else ""
    return (
        "<table cellspacing='0' cellpadding='2' style='border:1px solid #555'>"
        f"{head}{''.join(rows)}</table>"
    )


def check(shown: float, torch_value: float, what: str) -> str:
    ok = abs(shown - torch_value) <= OK_TOLERANCE * max(1.0, abs(torch_value))
    mark = "✓ the same" if ok else "✗ differs"
    return f"<p style='color:#9aa0aa'>{what} (torch's own): {num(torch_value)} {mark}</p>"


class StepNumbers:
    """``html(step)``: the numbers of one stage; ``labels``: the class names."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def html(self, s: Step) -> str:
        make = getattr(self, f"_{s.stage.kind}", self._elementwise)
        return make(s)

    def _label(self, index: int) -> str:
        return escape(self.labels[index]) if index < len(self.labels) else str(index)

    def _conv(self, s: Step) -> str:
        a = s.conv
        assert a is not None and s.channel_sums is not None
        c = s.position[0]
        n_in, kh, kw = a.patch.shape
        source = escape(s.stage.source)
        inputs = (
            f"its one input channel (from {source})"
            if n_in == 1
            else f"each of its {n_in} input channels (from {source})"
        )
        out = [
            f"<p>The value at <b>{where(s.position)}</b> of its output (the largest there) is "
            f"<b>{num(s.torch_value)}</b>. It is the {kh}×{kw} patch of {inputs} under the "
            f"kernel of output channel {c}, multiplied value by value, all added, plus the "
            "bias:</p>"
        ]
        sums = s.channel_sums
        first = int(np.argmax(np.abs(sums)))
        if s.input_range is not None:
            lo, hi = s.input_range
            out.append(
                "<p>Its input is the image as the network receives it, normalised as in "
                f"training ((pixel − mean) / std): values from {num(lo)} to {num(hi)}.</p>"
            )
        if kh <= GRID_MAX and kw <= GRID_MAX:
            label = "The only input channel" if n_in == 1 else f"Input channel {first}"
            out.append(
                f"<p>{label} (the one that adds most):</p>" if n_in > 1 else f"<p>{label}:</p>"
            )
            out.append(grid(a.patch[first], caption=f"the patch of {source}"))
            out.append("<p>× the kernel (learned weights):</p>")
            out.append(grid(a.kernel[first]))
            out.append("<p>= patch × kernel, value by value:</p>")
            out.append(grid(a.product[first]))
            out.append(f"<p>Σ of these {kh * kw} products = {num(sums[first])}</p>")
        if n_in > 1:
            order = np.argsort(-np.abs(sums), kind="stable")
            rows = "".join(
                f"<tr><td>input channel {int(k)}</td><td align='right'>{num(sums[k])}</td></tr>"
                for k in order[:TERMS]
            )
            rest = float(sums[order[TERMS:]].sum())
            if n_in > TERMS:
                rows += (
                    f"<tr><td>the other {n_in - TERMS} channels</td>"
                    f"<td align='right'>{num(rest)}</td></tr>"
                )
            out.append(
                f"<p>Σ patch × kernel for each input channel (largest first):</p>"
                f"<table cellpadding='2'>{rows}</table>"
            )
        total = float(sums.sum(dtype=np.float64))
        out.append(
            f"<p>{'Σ' if n_in == 1 else f'Σ over the {n_in} input channels'} = {num(total)}<br>"
            f"+ bias {num(a.bias)} = <b>{num(a.pre_activation)}</b> (the map's value)</p>"
        )
        out.append(check(a.pre_activation, s.torch_value, "the conv's output there"))
        return "".join(out)

    def _relu(self, s: Step) -> str:
        assert s.before is not None
        out = [
            f"<p>At <b>{where(s.position)}</b> (the largest output): {num(s.before)} → "
            f"<b>{num(s.torch_value)}</b>{' (positive: kept)' if s.before > 0 else ''}.</p>"
        ]
        if s.most_negative is not None:
            pos, v = s.most_negative
            share = 100.0 * s.negatives / max(s.count, 1)
            out.append(
                f"<p>{s.negatives} of its {s.count} input values ({share:.0f}%) were negative"
                f" and became 0; the most negative, at {where(pos)}: {num(v)} → <b>0</b>.</p>"
            )
        else:
            out.append(f"<p>None of its {s.count} input values was negative.</p>")
        if type(s.stage.module) is nn.ReLU:
            out.append(check(max(s.before, 0.0), s.torch_value, "the output there"))
        return "".join(out)

    def _pool(self, s: Step) -> str:
        assert s.window is not None and s.window_at is not None
        h, w = s.window.shape
        c, y, x = s.position
        shown = float(s.window.max() if s.reduce == "max" else s.window.mean())
        word = "the largest" if s.reduce == "max" else "the mean"
        top, left = s.window_at
        out = [
            f"<p>Output <b>{where(s.position)}</b> is {word} of the {h}×{w} window at rows "
            f"{top}–{top + h - 1}, columns {left}–{left + w - 1} of channel {c} of its input:</p>"
        ]
        if h <= GRID_MAX and w <= GRID_MAX:
            best = np.unravel_index(int(np.argmax(s.window)), s.window.shape)
            bold = (int(best[0]), int(best[1])) if s.reduce == "max" else None
            out.append(grid(s.window, bold))
        if s.reduce == "max":
            out.append(f"<p>max = <b>{num(shown)}</b></p>")
        else:
            total = float(s.window.sum(dtype=np.float64))
            out.append(f"<p>sum {num(total)} / {s.window.size} values = <b>{num(shown)}</b></p>")
        out.append(check(shown, s.torch_value, "the pooled map's value there"))
        return "".join(out)

    _adaptive_pool = _pool

    def _batchnorm(self, s: Step) -> str:
        assert s.norm is not None and s.before is not None
        mean, var, eps, gamma, beta = s.norm
        value = (s.before - mean) / float(np.sqrt(var + eps)) * gamma + beta
        return (
            f"<p>At <b>{where(s.position)}</b>: ({num(s.before)} − {num(mean)}) / "
            f"√({num(var)} + {eps:g}) × {num(gamma)} + {num(beta)} = <b>{num(value)}</b></p>"
            + check(value, s.torch_value, "the output there")
        )

    def _flatten(self, s: Step) -> str:
        assert s.source is not None and s.stage.in_shape is not None
        i = s.position[0]
        if len(s.stage.in_shape) == 3:
            _c, h, w = s.stage.in_shape
            c, y, x = s.source
            how = (
                f"number channel·({h}·{w}) + row·{w} + column = {c}·{h * w} + {y}·{w} + {x} "
                f"= <b>{i}</b>"
            )
        else:
            how = f"number <b>{i}</b>"
        return (
            f"<p>The value at {where(s.source)} of the maps ({num(s.before or 0.0)}, the "
            f"largest) becomes {how} of the row, unchanged.</p>"
            + check(s.before or 0.0, s.torch_value, f"value {i} of the row")
        )

    def _linear(self, s: Step) -> str:
        p = s.parts
        assert p is not None
        j = s.position[0]
        last = bool(self.labels) and s.stage.out_shape == (len(self.labels),)
        unit = f"the score (logit) of class '{self._label(j)}'" if last else f"unit {j}"
        rows = "".join(
            f"<tr><td>{escape(t.unit_text())}</td><td align='right'>{num(t.activation)}</td>"
            f"<td align='right'>{num(t.weight)}</td><td align='right'>{num(t.product)}</td></tr>"
            for t in p.top
        )
        if any(t.y is not None for t in p.top):
            naming = "input: layer #channel (row, column)"
        elif any(t.layer is not None for t in p.top):
            naming = "input: layer #unit"
        else:
            naming = "input"
        others = p.count - len(p.top)
        if others:
            rows += (
                f"<tr><td colspan='3'>the other {others} terms add up to</td>"
                f"<td align='right'>{num(s.rest)}</td></tr>"
            )
        return (
            f"<p>Output <b>{unit}</b> (the largest) = Σ weight × input over its {p.count} "
            f"inputs + bias. The largest terms:</p>"
            f"<table cellpadding='2'><tr><td><i>{naming}</i></td>"
            "<td><i>a</i></td>"
            f"<td><i>w</i></td><td><i>w × a</i></td></tr>{rows}</table>"
            f"<p>Σ = {num(p.total - p.bias)}, + bias {num(p.bias)} = <b>{num(p.total)}</b></p>"
            + check(p.total, s.torch_value, "the layer's output there")
        )

    def _softmax(self, s: Step) -> str:
        sm = s.softmax
        assert sm is not None
        j = s.position[0]
        order = np.argsort(-sm.logits, kind="stable")
        rows = "".join(
            f"<tr><td>{self._label(int(k))}</td><td align='right'>{num(sm.logits[k])}</td>"
            f"<td align='right'>{num(sm.exps[k])}</td>"
            f"<td align='right'>{num(sm.probs[k])}</td></tr>"
            for k in order[:TERMS]
        )
        if sm.logits.size > TERMS:
            rest = order[TERMS:]
            rows += (
                f"<tr><td colspan='2'>the other {sm.logits.size - TERMS} add up to</td>"
                f"<td align='right'>{num(sm.exps[rest].sum())}</td>"
                f"<td align='right'>{num(sm.probs[rest].sum())}</td></tr>"
            )
        return (
            f"<p>Each class's score z is shifted by m = max z = {num(sm.shift)} (that changes "
            "nothing and keeps exp from overflowing), then:</p>"
            "<table cellpadding='2'><tr><td><i>class</i></td><td><i>z</i></td>"
            f"<td><i>exp(z − m)</i></td><td><i>p = exp / Σ exp</i></td></tr>{rows}</table>"
            f"<p>Σ exp = {num(sm.total)}<br>p('{self._label(j)}') = {num(sm.exps[j])} / "
            f"{num(sm.total)} = <b>{sm.probs[j]:.4f}</b></p>"
            + check(float(sm.probs[j]), s.torch_value, "the probability shown")
        )

    def _elementwise(self, s: Step) -> str:
        if s.before is None:
            return f"<p>Output at <b>{where(s.position)}</b>: {num(s.torch_value)}</p>"
        same = " (unchanged)" if s.before == s.torch_value else ""
        return (
            f"<p>At <b>{where(s.position)}</b> (the largest output): {num(s.before)} → "
            f"<b>{num(s.torch_value)}</b>{same}</p>"
        )
