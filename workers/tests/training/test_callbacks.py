"""The trainer prints no metric dicts (quiet_trainer)."""

from __future__ import annotations


def test_trainer_prints_no_dicts():
    import torch
    from ipa_worker.training.callbacks import quiet_trainer
    from transformers import TrainingArguments
    from transformers.trainer import Trainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    args = TrainingArguments(output_dir="/tmp/ipa-quiet-trainer", disable_tqdm=True, report_to=[], use_cpu=True)
    trainer = Trainer(model=torch.nn.Linear(1, 1), args=args)
    assert any(isinstance(c, PrinterCallback) for c in trainer.callback_handler.callbacks)
    quiet_trainer(trainer)
    assert not any(isinstance(c, (PrinterCallback, ProgressCallback)) for c in trainer.callback_handler.callbacks)


def test_logged_steps_report_loss_reward_accuracy_and_tokens_per_second():
    """A watcher (ipa status, the dashboard) sees each logged step's loss, the minibatch's reward
    accuracy and the tokens/s since the step before; a resumed training skips tokens/s until it
    has a step of its own to count from."""
    from types import SimpleNamespace

    from ipa_worker.context import StageContext
    from ipa_worker.training.callbacks import MetricsCallback

    sent: list[dict] = []
    cb = MetricsCallback(None, "policy", StageContext(emit=sent.append, min_progress_interval=0), label="policy DPO")
    state = SimpleNamespace(global_step=0, max_steps=4, is_world_process_zero=True)
    cb.on_train_begin(None, state, None)
    for step, tokens in ((1, 400.0), (2, 900.0)):
        state.global_step = step
        cb._last_log -= 2.0  # two seconds per logged step
        cb.on_log(
            None, state, None, logs={"loss": 0.7 - step / 10, "rewards/accuracies": 0.25 * step, "num_tokens": tokens}
        )
    steps = [m for m in sent if m["type"] == "progress" and m["done"] > 0]
    assert [(m["done"], m["total"], m["metrics"]["phase"]) for m in steps] == [
        (1, 4, "policy DPO"),
        (2, 4, "policy DPO"),
    ]
    assert [round(m["metrics"]["loss"], 3) for m in steps] == [0.6, 0.5]
    assert [m["metrics"]["reward_accuracy"] for m in steps] == [0.25, 0.5]
    assert [round(m["metrics"]["tokens_per_s"] / 50) * 50 for m in steps] == [200, 250]

    resumed: list[dict] = []
    cb = MetricsCallback(None, "policy", StageContext(emit=resumed.append, min_progress_interval=0))
    state = SimpleNamespace(global_step=3, max_steps=4, is_world_process_zero=True)
    cb.on_train_begin(None, state, None)
    state.global_step = 4
    cb.on_log(None, state, None, logs={"loss": 0.4, "num_tokens": 5000.0})
    assert "tokens_per_s" not in resumed[-1]["metrics"] and resumed[-1]["metrics"]["loss"] == 0.4
