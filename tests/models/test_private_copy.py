"""The one private copy of a network: ready for work beside the live engine."""

from __future__ import annotations

import threading

import torch
from torch import nn

from cnn_viewer.models.private_copy import private_copy
from cnn_viewer.models.zoo.loaded import freeze


def net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(16, 2))


def test_the_copy_is_eval_frozen_in_place_free_and_gives_the_same_numbers():
    module = net().train()
    twin = private_copy(module)
    assert not twin.training and not any(p.requires_grad for p in twin.parameters())
    assert not twin[1].inplace and module[1].inplace and module.training  # original untouched
    x = torch.randn(2, 1, 4, 4)
    assert torch.equal(twin(x), module.eval()(x))


def test_the_copy_takes_no_hooks_and_survives_hooks_coming_and_going():
    module, fired, stop = freeze(net()), [], threading.Event()
    kept = module[0].register_forward_hook(lambda *_: fired.append(1))

    def churn() -> None:  # the engine adding and removing its hooks meanwhile
        while not stop.is_set():
            handles = [m.register_forward_pre_hook(lambda *_: None) for m in module.modules()]
            for h in handles:
                h.remove()

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        twins = [private_copy(module) for _ in range(50)]
    finally:
        stop.set()
        thread.join(5)
        kept.remove()
    for twin in twins:
        twin(torch.zeros(1, 1, 4, 4))
        assert all(not m._forward_hooks and not m._forward_pre_hooks for m in twin.modules())
    assert fired == []
