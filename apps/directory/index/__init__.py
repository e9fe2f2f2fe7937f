"""The directory's search index and its refresh outbox, in the public schema."""
