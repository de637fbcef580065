"""Load benchmark of the API (``make bench``): settings, URLconf, seeding and reporting."""
