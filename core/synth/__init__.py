"""Synth: the built-in synthetic gold district (a gempy model of a Wulong-like district).

:func:`make_district` (:mod:`~voxprospect.synth.build`) builds geology, geophysics,
orebodies and the truth on one grid from the presets
(:mod:`~voxprospect.synth.presets`), the structures and gempy model
(:mod:`~voxprospect.synth.geomodel`), the grid fields and geophysics
(:mod:`~voxprospect.synth.fields`) and the hidden mineral system with its deposits
(:mod:`~voxprospect.synth.deposits`); :func:`write_district`
(:mod:`~voxprospect.synth.district`) writes them with a project file that runs the whole
pipeline (:mod:`~voxprospect.synth.project_file`). Beside the flow: it uses data, io and
evidence, and only workflows use it.
"""

from voxprospect.synth.district import (CONTROLS, DISTRICT_FILES, PRESETS, District, district_project_toml,
                                        make_district, run_synth, write_district)

__all__ = ["CONTROLS", "DISTRICT_FILES", "PRESETS", "District", "district_project_toml", "make_district",
           "run_synth", "write_district"]
