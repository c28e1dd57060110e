import os
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

_RECORDED = []


@pytest.fixture
def record():
    """record(name, value): a measured number, printed at the end of the run."""
    return lambda name, value: _RECORDED.append((name, value))


def pytest_terminal_summary(terminalreporter):
    if _RECORDED:
        terminalreporter.write_sep("-", "measured")
        for name, value in _RECORDED:
            terminalreporter.write_line(f"{name}: {value:.3e}")
