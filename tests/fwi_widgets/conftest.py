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


@pytest.fixture
def project(workshop_copy):
    """The small workshop, opened, with the seed's inverse problem on the inline site."""
    from fwi_widgets import namespace as sn

    from ._part4 import add_problem

    p = sn.Project(path=workshop_copy)
    add_problem(p, site="inline")
    yield p
    p.close()


@pytest.fixture
def local_project(workshop_copy):
    """The small workshop with the seed's inverse problem on the ``local`` site: jobs run
    in the process-wide background pool, as in the dashboard, not inside ``resume``."""
    from fwi_widgets import namespace as sn

    from ._part4 import add_problem

    p = sn.Project(path=workshop_copy)
    add_problem(p, site="local")
    yield p
    p.close()
