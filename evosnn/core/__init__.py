"""The core types: search space, genome, subnet config, sizes, constraints, the evaluation record,
the executor protocol and the errors. Plain data and pure functions: no torch, no Ray, no storage.
"""
