"""Training on several devices and nodes: torch's elastic launcher, and what it lacks for a queued job.

`topology` says where the ranks run (this node's processes, the payload's group across nodes),
`group` runs them with `torch.distributed.launcher.api.elastic_launch` (c10d rendezvous, `logs`
for the per-rank files), `rank` is what each rank process runs, `rank_context` makes a stage
rank-aware (rank 0 speaks, a cancel is shared), `channel` carries rank 0's lines to the worker,
and `failures` turns the ranks' error files into the worker's error kinds. The trainers' own
helpers for a group (`training.batch_layout` splits the recipe's global batch over the ranks,
`training.collective` wraps torch.distributed) live in training/, which this package sits above.
"""
