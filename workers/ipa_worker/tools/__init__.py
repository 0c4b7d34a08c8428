"""Command-line tools beside the worker: the tiny model builder, the GPU check, the pair export."""
