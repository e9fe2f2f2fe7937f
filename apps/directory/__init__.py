"""The public directory: businesses that opt in are found on the root domain by text,
specialization, language, place, rating and next free time.

Two Django apps share this package. `apps.directory` (tenant schema) holds what a business
says about itself and each bookable person or asset (`ListingProfile`,
`ResourceListing`); `apps.directory.index` (public schema) holds the search index
(`DirectoryEntry`, one row per listed person or asset) and its refresh outbox
(`DirectoryRefresh`). Tenant-side changes write refresh rows in their own transaction;
a worker rebuilds that business's rows in the index (apps/directory/indexing.py).
Searches read the index only, never a business's schema.
"""
