"""Shared fixtures: the small workshop project is built once per test session and
copied for each test that changes it (building it runs the engine for the data)."""
import shutil

import pytest


@pytest.fixture(scope="session")
def workshop_template(tmp_path_factory):
    from fwi_widgets import namespace as sn

    path = tmp_path_factory.mktemp("template") / "workshop"
    p = sn.examples.workshop_2d(path, size="small")
    p.close()
    return path


@pytest.fixture
def workshop_copy(workshop_template, tmp_path):
    """A fresh, unlocked copy of the small workshop project (path)."""
    target = tmp_path / "workshop"
    shutil.copytree(workshop_template, target, ignore=shutil.ignore_patterns(".lock"))
    return target
