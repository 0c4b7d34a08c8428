"""Data in and out: seed sources and rows, safe image loading, the synthetic task, atomic JSONL files."""
