"""Partner files: sniffed, mapped by `schemas/partners/<partner>.yaml`, read row by row.

Partners (départements, CAF, mediation networks, diagnostic tools) send CSV, XLSX or JSON
files by hand. `sniffing` finds how a file is written, `mappings` says what its columns mean,
`reading` turns it into staged rows and quarantine entries (values read by `values`, activity
rows checked by `activity`), `combining` puts a partner's files together, `feedback` tells the
producer what was set aside and why, `inbox` lands dropped files in the raw layer.
"""
