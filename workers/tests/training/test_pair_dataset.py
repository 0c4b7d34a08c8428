"""Held-out pairs: whole seeds, stable."""

from ipa_worker.training.pair_dataset import split_by_seed


def test_held_out_pairs_are_whole_seeds_and_stable():
    rows = [{"seed_id": f"s{i % 20}", "k": i} for i in range(100)]
    train_rows, held = split_by_seed(rows, 0.3)
    assert len(train_rows) + len(held) == 100 and held
    assert not {r["seed_id"] for r in train_rows} & {r["seed_id"] for r in held}
    assert split_by_seed(rows, 0.3) == (train_rows, held)
    assert split_by_seed(rows, 0.0) == (rows, [])
