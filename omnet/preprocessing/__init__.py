"""Array pre-processing shared by inference and training: intensity normalisation, cropping."""
