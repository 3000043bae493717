"""The staff back-office (``/backoffice/``): sign-in, dashboard, list, record page and the nine steps.

Every view checks the role (``permissions.staff_required``) and, for a record, the object-level rule
(``permissions.change_denial``); writes go through ``reclamations.services`` only.
"""
