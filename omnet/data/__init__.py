"""Finding and reading cases: sequence naming rules, case folders, image files."""
