"""The schema's history as Alembic revisions: 0001 is the schema that shipped before
migrations; each later revision changes it. `video_service.api.db.migrate` runs them."""
