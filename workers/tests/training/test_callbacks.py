"""The trainer prints no metric dicts (quiet_trainer)."""

from __future__ import annotations



def test_trainer_prints_no_dicts():
    from transformers import TrainingArguments
    from transformers.trainer import Trainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    import torch

    from ipa_worker.training.callbacks import quiet_trainer

    args = TrainingArguments(output_dir="/tmp/ipa-quiet-trainer", disable_tqdm=True, report_to=[], use_cpu=True)
    trainer = Trainer(model=torch.nn.Linear(1, 1), args=args)
    assert any(isinstance(c, PrinterCallback) for c in trainer.callback_handler.callbacks)
    quiet_trainer(trainer)
    assert not any(isinstance(c, (PrinterCallback, ProgressCallback)) for c in trainer.callback_handler.callbacks)
