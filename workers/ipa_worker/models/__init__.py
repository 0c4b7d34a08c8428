"""Models: the loaded-model pool, the Qwen2-VL processor, batched generation and the vLLM engine."""
