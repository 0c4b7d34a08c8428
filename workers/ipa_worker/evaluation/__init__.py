"""Evaluation: the built-in benchmark evaluator and the lmms-eval adapter."""
