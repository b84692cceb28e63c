"""The planned master of a live ladder: every rung the source allows, stated from the plan
and one probe of the source, before any rung has a segment. No rung is probed: each
encoded rung's RESOLUTION and level are what the encoder is told (workers.engine.h264_levels),
its BANDWIDTH the encoder's cap (`-maxrate`) plus the sound; the copied rung states the
source's own profile and level, and the copy cap as its BANDWIDTH (a source above it is not
copied), listed first. The same inputs give the same text on every machine, so any worker
or API node may write it.

The edge plans it once per publish from the first segment it records (`describe_source`)
and keeps it in Redis, so an API node can serve it before any worker ran: a viewer gets
every rung from the first request, on any node, without a disk or a probe there.
"""

import redis

from workers.base import redis_keys
from workers.base.layout import SOURCE
from workers.base.settings import WorkerSettings
from workers.engine.h264_levels import high_profile_level
from workers.engine.ladder import AudioPolicy, LadderPlan
from workers.engine.playlists import (
    Rendition,
    build_aac_codec,
    build_avc_codec,
    build_master_playlist,
)
from workers.engine.probe import SourceInfo

PLANNED_TTL_S = 7 * 86400  # renewed by each publish


def planned_renditions(
    plan: LadderPlan, source: SourceInfo, settings: WorkerSettings
) -> list[Rendition]:
    audio_bps = 0 if plan.audio is AudioPolicy.NONE else settings.audio_kbps * 1000
    if plan.audio is AudioPolicy.NONE:
        sound = None
    elif plan.audio is AudioPolicy.COPY and source.audio is not None:
        sound = build_aac_codec(source.audio.profile)
    else:
        sound = build_aac_codec(None)  # FFmpeg's aac: LC
    renditions = []
    for rung in plan.rungs:
        if rung.copy:
            cap = round(settings.copy_bitrate_ratio * rung.video_kbps * 1000)
            average = source.video.bit_rate or cap
            video = build_avc_codec(source.video.profile, source.video.level)
            name, peak = SOURCE, cap
        else:
            peak = rung.video_kbps * 107 // 100 * 1000
            level = high_profile_level(rung.width, rung.height, plan.frame_rate, peak // 1000)
            video = build_avc_codec("High", level.idc)
            name, average = rung.name, rung.video_kbps * 1000
        codecs = video if sound is None else f"{video},{sound}"
        size = (rung.width, rung.height)
        total = (peak + audio_bps, average + audio_bps)
        renditions.append(Rendition(name, *size, plan.frame_rate, *total, codecs, 0))
    return renditions


def planned_master(plan: LadderPlan, source: SourceInfo, settings: WorkerSettings) -> str:
    """Listed first, where the source is copied: the source, which has segments from the
    first request (the encoded rungs' first ones follow the first viewer's first jobs);
    players start there and adapt."""
    return build_master_playlist(planned_renditions(plan, source, settings), first=SOURCE)


def keep_planned_master(client: redis.Redis, camera_id: str, text: str) -> None:
    client.set(redis_keys.planned_master(camera_id), text, ex=PLANNED_TTL_S)


def read_planned_master(client: redis.Redis, camera_id: str) -> str | None:
    found = client.get(redis_keys.planned_master(camera_id))
    if not found:
        return None
    return found.decode() if isinstance(found, bytes) else str(found)
