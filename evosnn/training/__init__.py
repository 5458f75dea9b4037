"""Training networks: the supernet (one process or data-parallel), stand-alone retraining of
exported architectures, and retraining on Ray Tune.
"""
