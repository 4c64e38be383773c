"""Sweeps: the setting axes, the plan (a list of run configs), the jobs' executors (local pool, Ray), the experiment session and the horizon search's driver."""
