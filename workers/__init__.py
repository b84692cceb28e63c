"""The ladder engine and the Celery workers that run it."""
