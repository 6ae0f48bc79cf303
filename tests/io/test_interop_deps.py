"""A missing optional interop package gives one clear error naming it and the pip command."""

from __future__ import annotations

import sys

import pytest

from voxprospect.errors import VoxprospectError
from voxprospect.io._optional import INTEROP_PACKAGES, MissingDependencyError, require


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
