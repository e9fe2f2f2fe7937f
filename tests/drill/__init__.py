"""The scale-out drill (`make drill`, OPERATIONS.md "Scale-out"): two web instances
behind HAProxy, PgBouncer in session pooling, two Celery workers and beat, loaded while
one web instance and one worker are killed."""
