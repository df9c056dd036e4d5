"""The HTTP edge for the REST API: thin handlers that validate, call the domain, and render."""
