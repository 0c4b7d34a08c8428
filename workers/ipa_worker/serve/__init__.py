"""The worker process: the bridge protocol server, its request context, device probing and test hooks."""
