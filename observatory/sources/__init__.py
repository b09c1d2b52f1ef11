"""Where each input comes from: the catalogue of sources and the raw layer they land in."""
