"""The customer's words are theirs, whatever code runs: a trigger refuses an UPDATE that
changes `rating` or `comment` once `editable_until` has passed (or after the customer
was erased), that moves `editable_until`, or that changes a reply once written. Erasure
is the one exception: it empties the comment as it sets `anonymised_at`, and scrubs the
reply.

The function lives in `public` (schema-qualified), so a tenant schema cloned from the
template keeps a trigger that resolves, and dropping a tenant drops only its trigger.
"""

from django.db import migrations

GUARD_SQL = """
CREATE OR REPLACE FUNCTION public.reviews_words_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.editable_until IS DISTINCT FROM OLD.editable_until THEN
        RAISE EXCEPTION 'a review''s editing window is fixed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.anonymised_at IS NOT NULL AND OLD.anonymised_at IS NULL THEN
        IF NEW.rating = OLD.rating AND NEW.comment = '' THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'erasing a review removes its comment and keeps its rating'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.rating, NEW.comment) IS DISTINCT FROM (OLD.rating, OLD.comment)
       AND (OLD.anonymised_at IS NOT NULL OR now() >= OLD.editable_until) THEN
        RAISE EXCEPTION 'a review''s words can no longer be changed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.reply <> '' AND NEW.reply IS DISTINCT FROM OLD.reply THEN
        RAISE EXCEPTION 'a reply is written once'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS reviews_words_guard ON reviews_review;
CREATE TRIGGER reviews_words_guard BEFORE UPDATE ON reviews_review
    FOR EACH ROW EXECUTE FUNCTION public.reviews_words_guard();
"""

REVERSE_SQL = "DROP TRIGGER IF EXISTS reviews_words_guard ON reviews_review;"


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunSQL(GUARD_SQL, REVERSE_SQL)]
