"""What lmms-eval 0.x prints when it fails: a Hub dataset offline, a task name it does not know (copied from real runs)."""

OFFLINE_STDOUT = (
    "\x1b[32m2026-11-30 02:25:03\x1b[0m | \x1b[31m\x1b[1mERROR   \x1b[0m | \x1b[36mlmms_eval.__main__\x1b[0m:\x1b[36mcli_evaluate\x1b[0m:"
    "\x1b[36m614\x1b[0m - \x1b[31m\x1b[1mError during evaluation: RetryError[<Future at 0x7f7344372a90 state=finished raised "
    "ConnectionError>]. Please set `--verbosity=DEBUG` to get more information.\x1b[0m"
)
OFFLINE_STDERR = (
    "    raise ConnectionError(f\"Couldn't reach '{path}' on the Hub ({e.__class__.__name__})\") from e\n"
    "ConnectionError: Couldn't reach 'lmms-lab-encoder/POPE' on the Hub (OfflineModeIsEnabled)\n"
    "tenacity.RetryError: RetryError[<Future at 0x7f7344372a90 state=finished raised ConnectionError>]"
)
UNKNOWN_TASK_STDOUT = (
    "2026-11-30 02:24:04 | ERROR    | lmms_eval.__main__:cli_evaluate:614 - Error during evaluation: Tasks not found: "
    "no_such_task. Try `lmms-eval --tasks {list_groups,list_subtasks,list_tags,list}` to list out all available names"
)
