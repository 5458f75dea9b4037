"""The proxy check: does inherited-weight accuracy rank subnets as stand-alone training does?
check runs it; stats holds its rank statistics.
"""
