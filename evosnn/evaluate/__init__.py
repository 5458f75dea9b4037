"""Scoring one candidate with inherited weights: data sets, supernet loading, the evaluator, and the
task that Ray workers run.
"""
