"""Scoring one candidate with inherited weights: supernet loading, the evaluator, and the task that
Ray workers run (the data sets they score on are :mod:`evosnn.data`'s).
"""
