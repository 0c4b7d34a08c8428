"""Training on several devices: one process per device, started and watched as one group.

`topology` says where the ranks run, `supervisor` starts the ranks and tears the whole group down
on the first failure, `rank` is what each rank process runs, `rank_context` makes a stage
rank-aware, and `__main__` is the by-hand launcher (several nodes included). The trainers' own
helpers for a group (`training.batch_layout` splits the recipe's global batch over the ranks,
`training.collective` wraps torch.distributed) live in training/, which this package sits above.
"""
