"""Management commands of the core app: compile_catalogs."""
