"""The one hook context manager: hooks run inside the block and none is left after it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnn_viewer.models.hooks import hooks


def net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def hook_count(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


def nothing(*_) -> None:
    return None


def test_hooks_run_in_the_block_in_order_and_are_gone_after_it():
    model, seen = net(), []
    first, last = model[0], model[2]
    forward = [(first, lambda *_: seen.append("out 0")), (last, lambda *_: seen.append("out 2"))]
    with hooks(forward=forward, forward_pre=[(last, lambda *_: seen.append("in 2"))]):
        model(torch.zeros(1, 3))
    assert seen == ["out 0", "in 2", "out 2"]
    assert hook_count(model) == 0
    model(torch.zeros(1, 3))
    assert len(seen) == 3  # nothing fires after the block


def test_every_hook_is_removed_when_the_body_raises():
    model, during = net(), []

    def fail(*_):
        during.append(hook_count(model))
        raise RuntimeError("in the pass")

    forward = [(model[0], fail), (model[1], nothing), (model[2], nothing)]
    pre = [(model[0], nothing)]
    with pytest.raises(RuntimeError, match="in the pass"), hooks(forward=forward, forward_pre=pre):
        model(torch.zeros(1, 3))
    assert during == [4]  # all four were on during the pass
    assert hook_count(model) == 0


def test_every_hook_is_removed_when_registration_fails_halfway():
    model = net()

    def pairs():
        yield model[0], nothing
        yield model[1], nothing
        raise LookupError("no such layer")  # e.g. a name that resolves to nothing

    with pytest.raises(LookupError), hooks(forward=pairs(), forward_pre=[(model[2], nothing)]):
        pytest.fail("the block must not run")
    assert hook_count(model) == 0


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_a_module_that_refuses_a_hook_leaves_none_behind():
    model = net()
    script = torch.jit.script(nn.Linear(3, 4))  # TorchScript modules refuse Python hooks
    with pytest.raises(RuntimeError), hooks(forward=[(model[0], nothing), (script, nothing)]):
        pytest.fail("the block must not run")
    assert hook_count(model) == 0
