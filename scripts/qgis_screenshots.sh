#!/usr/bin/env bash
# Regenerate the QGIS desktop screenshots in docs/img (shown in docs/qgis-plugin.md).
#
# They come from the desktop test itself (tests/qgis/test_qgis_desktop.py): the real QGIS
# desktop on a virtual X display (Xvfb), the plugin installed from its zip, the tiny
# synthetic district's random-forest prospectivity in the Depth slices dock with the
# targets exported from the toolbox. Needs qgis, xvfb and the venv set up by
# scripts/setup_qgis_env.sh.
#
# Usage:  bash scripts/qgis_screenshots.sh [folder]      (default docs/img)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/img}"
VOXPROSPECT_SCREENSHOTS="$out" OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen \
  python -m pytest -q tests/qgis/test_qgis_desktop.py
ls -l "$out"/qgis_desktop_*.png
