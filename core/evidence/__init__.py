"""Evidence: the 3D evidence layers a model learns from.

Distance buffers around geological objects (raw capped distance, binary buffer, fuzzy
membership) and standardised geophysics, built from a project's evidence
specifications into one evidence :class:`~voxprospect.data.Volume`, with the fitted
standardisation recorded so prediction can reuse it. May import the data, io and
gridding stages.
"""

from voxprospect.evidence.layers import (KINDS, STANDARDISERS, TRANSFORMS, EvidenceSpec, apply_standardiser,
                                         buffer_evidence, build_evidence, capped_edt, distance_to_mask,
                                         evidence_stack, fill_inactive, fit_standardiser)

__all__ = ["KINDS", "STANDARDISERS", "TRANSFORMS", "EvidenceSpec", "apply_standardiser", "buffer_evidence",
           "build_evidence", "capped_edt", "distance_to_mask", "evidence_stack", "fill_inactive",
           "fit_standardiser"]
