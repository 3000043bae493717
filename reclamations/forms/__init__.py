"""Forms by audience: ``public`` (Contact form, follow-up page, lost link) and ``backoffice`` (staff)."""
