"""The quality pages under ``/backoffice/qualite/``: improvement plan, statistics, internal digests.

Access: the quality lead edits the plan, reads the statistics and lists every digest; any handler
reads the plan and the digests and acknowledges their own copy; anonymous visitors go to the login
page; other signed-in accounts get a 403 (``access``).
"""
