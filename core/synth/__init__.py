"""Synth: the built-in synthetic gold district (a gempy model of a Wulong-like district).

:func:`make_district` builds geology, geophysics, orebodies and the truth on one grid;
:func:`write_district` writes them with a project file that runs the whole pipeline.
Beside the flow: it uses data, io and evidence, and only workflows use it.
"""

from voxprospect.synth.district import (DISTRICT_FILES, PRESETS, District, district_project_toml, make_district,
                                        run_synth, write_district)

__all__ = ["DISTRICT_FILES", "PRESETS", "District", "district_project_toml", "make_district", "run_synth",
           "write_district"]
