"""The recipe's global batch split over the training processes."""

from __future__ import annotations

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.training.batch_layout import split_batch


@pytest.mark.parametrize(
    "global_batch,cap,world,per_device,accum",
    [
        (16, 2, 1, 2, 8),  # one device: the recipe's own batch_size x grad_accum
        (16, 2, 8, 2, 1),
        (16, 4, 2, 4, 2),
        (16, 1, 2, 1, 8),  # after OOM halvings: smaller share, more accumulation, same global batch
        (12, 8, 4, 3, 1),  # the largest share up to the cap that divides the rank's part
        (6, 4, 2, 3, 1),
        (5, 2, 1, 1, 5),
    ],
)
def test_split_keeps_the_global_batch(global_batch, cap, world, per_device, accum):
    layout = split_batch(global_batch, cap, world, field="training.dpo")
    assert (layout.per_device, layout.grad_accum) == (per_device, accum)
    assert layout.per_device * layout.grad_accum * layout.world_size == global_batch
    assert layout.per_device <= cap


def test_split_names_the_field_when_the_batch_does_not_divide():
    with pytest.raises(
        BadInput, match=r"training.dpo.batch_size x grad_accum: the global batch \(6\) does not divide over 4"
    ):
        split_batch(6, 2, 4, field="training.dpo.batch_size x grad_accum")


def test_layout_words_and_metrics():
    layout = split_batch(16, 2, 4, field="f")
    assert layout.describe() == "global batch 16 = 4 processes x 2 per device x 2 accumulation steps"
    assert layout.metrics() == {"world_size": 4, "global_batch": 16, "per_device_batch": 2, "grad_accum": 2}
