"""A pytest plugin for pydantic's own test suite (`make test-pydantic`): copy.deepcopy and
copy.copy are copium's for the whole session, patched before pydantic's tests are collected.
The report header says so, and the session fails at once if the patch did not take."""

import copy

import copium
import copium.patch

copium.patch.enable()


def pytest_report_header(config):
    return "copium %s from %s: copy.deepcopy and copy.copy patched (%s)" % (
        copium.__version__, copium.__file__, copium.patch.enabled())


def pytest_sessionstart(session):
    probe = [object()]
    if not copium.patch.enabled() or copy.deepcopy(probe)[0] is probe:
        raise RuntimeError("copium.patch is not in effect")
