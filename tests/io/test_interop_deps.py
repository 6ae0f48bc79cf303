"""A missing optional interop package gives one clear error naming it and the pip command."""

from __future__ import annotations

import sys

import pytest

from voxprospect.errors import VoxprospectError
from voxprospect.io._optional import INTEROP_PACKAGES, MissingDependencyError, install_command, require


@pytest.mark.parametrize("module", sorted(INTEROP_PACKAGES))
def test_missing_package_is_named_with_the_install_command(monkeypatch, module):
    # sys.modules[name] = None makes `import name` raise ImportError, as when it is absent
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as err:
        require(module, path="model.xyz")
    msg = str(err.value)
    assert isinstance(err.value, VoxprospectError)
    assert msg.startswith("model.xyz: ")
    assert f"'{INTEROP_PACKAGES[module][0]}'" in msg
    assert "pip install 'voxprospect[interop]'" in msg


def test_installed_package_is_returned():
    import numpy  # noqa: F401  (any importable module: require only wraps importlib)

    assert require("numpy").__name__ == "numpy"


def test_geoh5py_before_python_312_is_installed_without_its_numpy_pin():
    # every geoh5py for 3.10/3.11 pins numpy 1.26: the command says --no-deps there only
    old = install_command("geoh5py", (3, 11))
    assert "pip install --no-deps 'geoh5py==0.12.2'" in old
    assert "voxprospect[interop]" in old  # which brings geoh5py's real dependencies
    assert "--no-deps" not in install_command("geoh5py", (3, 12))
    assert "--no-deps" not in install_command("omf", (3, 11))
