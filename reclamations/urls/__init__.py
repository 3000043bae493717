"""URL modules by audience: ``public`` (clients, no account) and ``backoffice`` (staff)."""
