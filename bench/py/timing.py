"""What both training scripts measure, identically: the train loop's wall time and steps (a
TrainerCallback), and the process's peak RSS."""

import resource
import time

from transformers import TrainerCallback


class LoopTimer(TrainerCallback):
    def __init__(self):
        self.begin = self.end = 0.0
        self.steps = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.begin = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.end = time.perf_counter()
        self.steps = state.global_step

    def result(self) -> dict:
        seconds = self.end - self.begin
        return {"steps": self.steps, "loop_seconds": seconds, "steps_per_s": self.steps / seconds}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
