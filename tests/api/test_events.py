"""Events written in batches: a bad row is logged and dropped, the rest of its batch is kept;
a database that cannot be reached keeps the batch for the next try."""

import logging

import pytest
from sqlalchemy import select

from video_service.api.db import create_database, engine_of, session_scope
from video_service.api.events import EventBuffer
from video_service.api.models import Event
from video_service.edge.events import EventType


def test_a_bad_event_is_dropped_and_logged_and_the_others_are_written(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = create_database(database_url)
    buffer = EventBuffer(sessions, every_s=3600)
    buffer.add(EventType.CAMERA_ONLINE, camera_id="a")
    buffer.add(None, camera_id="b")  # type: ignore[arg-type]  # NOT NULL refuses it
    if database_url.startswith("postgresql"):
        buffer.add(EventType.CAMERA_ONLINE, camera_id="b\x00")  # PostgreSQL refuses NUL
    buffer.add(EventType.CAMERA_OFFLINE, camera_id="c")
    with caplog.at_level(logging.ERROR, logger="video_service.api.events"):
        assert buffer.flush() == 2
    assert "dropped an event the database refused" in caplog.text
    assert buffer.flush() == 0, "the bad one is not retried"
    buffer.close()
    with session_scope(sessions) as session:
        cameras = session.scalars(select(Event.camera_id).order_by(Event.id)).all()
    assert cameras == ["a", "c"]
    engine_of(sessions).dispose()


def test_an_operational_fault_keeps_the_batch_for_the_next_try(tmp_path: object) -> None:
    sessions = create_database("sqlite:///" + str(tmp_path) + "/events.db")
    buffer = EventBuffer(sessions, every_s=3600)
    buffer.add(EventType.CAMERA_ONLINE, camera_id="a")
    engine = engine_of(sessions)
    with engine.connect() as connection:
        connection.exec_driver_sql("ALTER TABLE events RENAME TO events_away")
        connection.commit()
    assert buffer.flush() == 0
    with engine.connect() as connection:
        connection.exec_driver_sql("ALTER TABLE events_away RENAME TO events")
        connection.commit()
    assert buffer.flush() == 1, "kept, then written"
    buffer.close()
    engine.dispose()
