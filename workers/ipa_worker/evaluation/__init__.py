"""Evaluation: the built-in benchmark evaluator (benchmarks.py) and lmms-eval as a second backend
(lmms_backend.py: command, model folder, child process, output stream, failures, results)."""
