import subprocess
import sys

import memorybench


def test_every_api_name_is_the_object_its_module_defines():
    from importlib import import_module

    for name, module in memorybench.API.items():
        assert getattr(memorybench, name) is getattr(import_module(module), name), name
    assert set(memorybench.API) <= set(dir(memorybench))


def test_an_unknown_name_is_an_attribute_error():
    try:
        memorybench.train_runs
    except AttributeError as exc:
        assert "'train_runs'" in str(exc)
    else:
        raise AssertionError("memorybench.train_runs should not exist")


def test_importing_the_package_loads_no_torch():
    code = "import sys, memorybench; print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
