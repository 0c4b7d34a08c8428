"""Training: DPO of the policy and reviser (TRL DPOTrainer + PEFT), SFT warm-up, pair datasets."""
