"""Row-level checks, quarantine and accounting: every input row is kept or set aside with a reason."""
