"""Shared web glue: templates, htmx helpers, security headers, errors. No feature logic."""
