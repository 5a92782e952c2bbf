"""The review of applications in the console: queue, one application, documents, decisions."""
