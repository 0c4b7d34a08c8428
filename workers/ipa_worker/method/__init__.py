"""The IPA method itself, free of I/O: perturbations t(V), the sampling plan, verifier, reviser and pairing."""
