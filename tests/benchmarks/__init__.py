"""`make bench`: the app under load, measured side by side against the stack's own ceiling.

Run with `python -m tests.benchmarks.run`. No module here is named test_*.py, so pytest's
collection of tests/ never picks the bench up.
"""
