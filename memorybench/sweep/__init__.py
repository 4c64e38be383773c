"""Sweeps: the setting axes, the plan (a list of run configs), the jobs' executors (local pool, Ray)."""


def __getattr__(name: str):  # the names of the module `memorybench.sweep` before 0.2.0, until 0.3.0
    from memorybench._moved import old_name

    return old_name(__name__, name)
