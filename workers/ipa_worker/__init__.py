"""ipa_worker: the PyTorch data plane of ipa (see docs/ARCHITECTURE.md)."""

__version__ = "0.1.0"
