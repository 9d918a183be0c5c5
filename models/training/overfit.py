"""The over-fitting hint: a plain sentence when training accuracy runs ahead of validation
accuracy, and what helps. Qt-free."""

from __future__ import annotations


def overfit_hint(history: list[dict], gap: float = 0.15) -> str | None:
    """A plain hint when training accuracy runs ahead of validation accuracy by ``gap``."""
    last = [h for h in history[-3:] if h.get("train_accuracy") is not None]
    if not last:
        return None
    train = sum(h["train_accuracy"] for h in last) / len(last)
    val = sum(h["val_accuracy"] for h in last) / len(last)
    if train - val < gap:
        return None
    return (
        f"over-fitting: training accuracy {train:.0%} but validation {val:.0%} - the network "
        "learns its training images by heart. What helps: more images per class, "
        "augmentation, a smaller network (fewer blocks or filters)."
    )
