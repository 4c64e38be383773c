"""The report: markdown helpers, figures, the section registry, the report builder and the suite."""


def __getattr__(name: str):  # the names of the module `memorybench.report` before 0.2.0, until 0.3.0
    from memorybench._moved import old_name

    return old_name(__name__, name)
