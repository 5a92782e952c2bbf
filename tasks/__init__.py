"""Background jobs: thin functions taking ids and calling app services."""
