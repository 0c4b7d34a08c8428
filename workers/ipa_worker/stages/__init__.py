"""One module per stage, `ipa_worker.stages.<stage>`, each with `run(payload, ctx) -> result`."""

import re

# What a stage name may look like before it is turned into a module name.
STAGE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
