"""The built-in small CNN: a few legible conv blocks, then two linear layers.

Every layer is a named direct child (conv1, relu1, pool1, ..., fc1, fc2) so the
viewer can show and name each one. The config is plain JSON-able data, stored in
our checkpoints so a file alone rebuilds the network.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import cast

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}
POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d, "none": None}


@dataclass
class SmallCNNConfig:
    in_channels: int = 1
    num_classes: int = 10
    input_size: tuple[int, int] = (28, 28)
    channels: list[int] = field(default_factory=lambda: [8, 16, 32])
    kernel_size: int = 3
    stride: int = 1
    padding: int = 1
    activation: str = "relu"
    pool: str = "max"
    hidden: int = 64
    dropout: float = 0.2
    batchnorm: bool = False  # a BatchNorm2d (bn1, bn2, ...) after each conv
    global_pool: bool = False  # average each last-block map to one value (place-independent)

    def __post_init__(self) -> None:
        # (a list when read back from JSON; the length is checked by building the network)
        self.input_size = cast(tuple[int, int], tuple(int(v) for v in self.input_size))
        self.channels = [int(c) for c in self.channels]
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {sorted(ACTIVATIONS)}")
        if self.pool not in POOLS:
            raise ValueError(f"pool {self.pool!r} is not one of {sorted(POOLS)}")
        if not self.channels:
            raise ValueError("channels must list at least one conv block, e.g. [8, 16]")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d


def _act(name: str) -> nn.Module:
    cls = ACTIVATIONS[name]
    return cls(inplace=True) if cls is nn.ReLU else cls()


class SmallCNN(nn.Module):
    """conv -> (BatchNorm) -> activation -> pool, repeated; (global average pool); flatten;
    fc1 -> activation -> fc2.

    Input: N x in_channels x H x W float. Output: N x num_classes logits.
    """

    def __init__(self, config: SmallCNNConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SmallCNNConfig()
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = config.in_channels
        for i, c_out in enumerate(config.channels, start=1):
            layers[f"conv{i}"] = nn.Conv2d(
                c_in, c_out, config.kernel_size, stride=config.stride, padding=config.padding
            )
            if config.batchnorm:
                layers[f"bn{i}"] = nn.BatchNorm2d(c_out)
            layers[f"{config.activation}{i}"] = _act(config.activation)
            pool = POOLS[config.pool]
            if pool is not None:
                layers[f"pool{i}"] = pool(2)
            c_in = c_out
        for name, module in layers.items():
            self.add_module(name, module)
        self._block_names = list(layers)
        with torch.no_grad():
            probe = torch.zeros(1, config.in_channels, *config.input_size)
            for name in self._block_names:
                probe = getattr(self, name)(probe)
        for m in layers.values():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()  # the shape probe above is no data
        if config.global_pool:
            self.global_pool = nn.AdaptiveAvgPool2d(1)
            probe = self.global_pool(probe)
        flat = probe.numel()
        if flat == 0:
            raise ValueError(
                f"input size {config.input_size} is too small for {len(config.channels)} blocks"
            )
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(flat, config.hidden)
        self.fc1_act = _act(config.activation)
        self.dropout = nn.Dropout(config.dropout)
        self.fc2 = nn.Linear(config.hidden, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self._block_names:
            x = getattr(self, name)(x)
        if self.config.global_pool:
            x = self.global_pool(x)
        x = self.fc1_act(self.fc1(self.flatten(x)))
        return self.fc2(self.dropout(x))

    def display_layers(self) -> list[str]:
        """The layers a person would name: each block's conv, activation, pool, and the fcs."""
        return [*self._block_names, "fc1", "fc2"]

    def cam_layer(self) -> str:
        """The last conv block's activation: the usual Grad-CAM target."""
        return f"{self.config.activation}{len(self.config.channels)}"
