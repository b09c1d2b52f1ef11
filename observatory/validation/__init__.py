"""Row-level checks, quarantine and accounting.

Every input row is kept or set aside with a reason.
"""
