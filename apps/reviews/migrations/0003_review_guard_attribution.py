"""The words guard (0002) also holds what a review is of and whose it is: an UPDATE that
moves a review to another booking, person, service or month, changes its writing time,
changes the author's shown name (erasure only empties it), or takes back an erasure
(`anonymised_at` set once, never cleared: clearing it would reopen the words to change)
is refused. Without this, a queryset.update could put a customer's rating on another
person's listing or under another customer's name, words untouched. A DELETE of a review
is refused too (a review is hidden, never removed; erasure anonymises it): deleting and
writing it again would otherwise change the words after all. Dropping a business's
schema and TRUNCATE (tests) fire no row trigger.

Erasure stays the one exception for the words and the reply; it must now also empty
the author's name.
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
    IF (NEW.booking_id, NEW.resource_id, NEW.service_id, NEW.visit_month, NEW.created_at)
       IS DISTINCT FROM
       (OLD.booking_id, OLD.resource_id, OLD.service_id, OLD.visit_month, OLD.created_at) THEN
        RAISE EXCEPTION 'what a review is of is fixed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.anonymised_at IS NOT NULL
       AND NEW.anonymised_at IS DISTINCT FROM OLD.anonymised_at THEN
        RAISE EXCEPTION 'an erased review stays erased'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.anonymised_at IS NOT NULL AND OLD.anonymised_at IS NULL THEN
        IF NEW.rating = OLD.rating AND NEW.comment = '' AND NEW.author_name = '' THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'erasing a review removes its comment and name and keeps its rating'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.author_name IS DISTINCT FROM OLD.author_name THEN
        RAISE EXCEPTION 'a review''s author is fixed'
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

CREATE OR REPLACE FUNCTION public.reviews_delete_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a review is hidden or anonymised, never deleted'
        USING ERRCODE = 'restrict_violation';
END;
$$;

DROP TRIGGER IF EXISTS reviews_delete_guard ON reviews_review;
CREATE TRIGGER reviews_delete_guard BEFORE DELETE ON reviews_review
    FOR EACH ROW EXECUTE FUNCTION public.reviews_delete_guard();
"""

# Back to 0002's function, without the delete guard.
REVERSE_SQL = """
DROP TRIGGER IF EXISTS reviews_delete_guard ON reviews_review;
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
"""


class Migration(migrations.Migration):
    dependencies = [("reviews", "0002_review_words_guard")]

    operations = [migrations.RunSQL(GUARD_SQL, REVERSE_SQL)]
