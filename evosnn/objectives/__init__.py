"""What a candidate is scored on: energy (operation counts x pJ), the F_AEB fitness, and Pareto
fronts, non-dominated sorting and hypervolume (the only implementation in evosnn).
"""
