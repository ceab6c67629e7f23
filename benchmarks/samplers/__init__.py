"""Sampler benchmark: problems (classic, BBOB, a Bayesmark port), runners, the result cache, the report."""
