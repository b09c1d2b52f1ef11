"""Published tables and atomic releases."""
