#!/usr/bin/env bash
# Make the active virtual environment see Debian's QGIS Python (python3-qgis).
#
# QGIS's Python bindings are built for the system Python; a venv of the same minor
# version (3.11 here) can load them. We append the system dist-packages and QGIS's
# bundled plugins (Processing lives there) and its Python support folder (the plugin
# installer, pyplugin_installer, lives there) through a .pth file whose name sorts last,
# so the venv's own packages (numpy, rasterio...) still win over Debian's copies.
#
# Usage (with the venv active, or VENV=path):  bash scripts/setup_qgis_env.sh
# Then:  QT_QPA_PLATFORM=offscreen python -m pytest tests/qgis
set -euo pipefail

PY="${VENV:+$VENV/bin/python}"
PY="${PY:-python}"
QGIS_DIST="${QGIS_DIST:-/usr/lib/python3/dist-packages}"
QGIS_PLUGINS="${QGIS_PLUGINS:-/usr/share/qgis/python/plugins}"
QGIS_SUPPORT="${QGIS_SUPPORT:-/usr/share/qgis/python}"

if [ ! -d "$QGIS_DIST/qgis" ]; then
  echo "setup_qgis_env: no QGIS Python in $QGIS_DIST (apt-get install python3-qgis); the tests in tests/qgis will skip" >&2
  exit 0
fi

sys_minor="$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"
venv_minor="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$sys_minor" != "$venv_minor" ]; then
  echo "setup_qgis_env: the venv's Python is $venv_minor but Debian's QGIS is built for $sys_minor;" >&2
  echo "  create the venv from /usr/bin/python3 to run tests/qgis (they will skip otherwise)" >&2
  exit 0
fi

site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n%s\n%s\n' "$QGIS_DIST" "$QGIS_PLUGINS" "$QGIS_SUPPORT" > "$site/zzz_qgis.pth"
echo "setup_qgis_env: wrote $site/zzz_qgis.pth"

QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" "$PY" - <<'PYEOF'
import numpy
from qgis.core import Qgis
import PyQt5.QtCore
import processing  # noqa: F401  (QGIS's bundled Processing plugin)
import pyplugin_installer  # noqa: F401  (Install from ZIP's code)
print(f"setup_qgis_env: QGIS {Qgis.QGIS_VERSION} importable; numpy {numpy.__version__} from {numpy.__file__}")
PYEOF
