"""Fixtures shared by the interop tests."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def downlink(tmp_path_factory):
    """The client package as `pip install ./clients/python` installs it."""
    target = tmp_path_factory.mktemp("site")
    # From a copy, so the build leaves nothing in the checkout.
    source = tmp_path_factory.mktemp("src") / "python"
    shutil.copytree(REPO / "clients" / "python", source)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(source)],
        check=True,
    )
    sys.path.insert(0, str(target))
    import downlink as module

    assert Path(module.__file__).is_relative_to(target), "imported a package other than the installed one"
    yield module
    sys.path.remove(str(target))




@pytest.fixture(scope="session")
def seaweed():
    """A SeaweedFS S3 server for the whole run (see seaweed.py), stopped at the end."""
    from seaweed import Seaweed

    server = Seaweed()
    yield server
    server.stop()
