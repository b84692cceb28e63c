"""Plan the ladder for a source: which rungs, at what size, and whether the top one is copied."""

from dataclasses import dataclass
from enum import StrEnum

from workers.base.settings import Rung, WorkerSettings
from workers.engine.probe import SourceInfo


class KeyframePolicy(StrEnum):
    # Encoded rungs put an IDR where the copied source has a keyframe, so that every rung
    # is cut at the same instants; otherwise at every segment boundary.
    SOURCE = "source"
    INTERVAL = "interval"


class AudioPolicy(StrEnum):
    NONE = "none"
    COPY = "copy"
    AAC = "aac"


@dataclass(frozen=True)
class RungPlan:
    name: str
    width: int
    height: int
    video_kbps: int
    copy: bool

    @property
    def filter_label(self) -> str:
        return f"v{self.name}"


@dataclass(frozen=True)
class LadderPlan:
    rungs: tuple[RungPlan, ...]
    keyframes: KeyframePolicy
    audio: AudioPolicy
    segment_seconds: float
    frame_rate: float | None = None  # the source's: every rung keeps it

    @property
    def encoded(self) -> tuple[RungPlan, ...]:
        return tuple(rung for rung in self.rungs if not rung.copy)


def plan_ladder(source: SourceInfo, settings: WorkerSettings) -> LadderPlan:
    video = source.video
    copy_slot = _copy_slot(source, settings)
    below = [rung for rung in settings.ladder if rung.height < video.height]
    rungs = [_encoded(rung, video.width, video.height) for rung in below]
    if copy_slot is not None:
        rungs.append(_copied(copy_slot, video.width, video.height))
    else:
        same = [rung for rung in settings.ladder if rung.height == video.height]
        # A source shorter than the lowest rung still gets one rung: its own size.
        fallback = [] if below or same else [settings.ladder[0]]
        rungs += [_encoded(rung, video.width, video.height) for rung in same + fallback]
    return LadderPlan(
        rungs=tuple(rungs),
        keyframes=KeyframePolicy.SOURCE if copy_slot else KeyframePolicy.INTERVAL,
        audio=_audio_policy(source),
        segment_seconds=settings.segment_seconds,
        frame_rate=video.frame_rate,
    )


def _copy_slot(source: SourceInfo, settings: WorkerSettings) -> Rung | None:
    """The ladder rung the source itself can stand in for, if it qualifies to be copied."""
    video = source.video
    if not source.is_h264_8bit_420 or video.height > settings.top_rung.height:
        return None
    slot = next(rung for rung in settings.ladder if rung.height >= video.height)
    if video.bit_rate is None:
        return None  # an unknown bitrate cannot be shown to be within the cap
    cap = settings.copy_bitrate_ratio * slot.video_kbps * 1000
    return slot if video.bit_rate <= cap else None


def _copied(slot: Rung, width: int, height: int) -> RungPlan:
    name = slot.name if slot.height == height else f"{height}p"
    kbps = slot.video_kbps
    return RungPlan(name=name, width=width, height=height, video_kbps=kbps, copy=True)


def _encoded(rung: Rung, source_width: int, source_height: int) -> RungPlan:
    height = min(rung.height, source_height)
    width = scaled_width(source_width, source_height, height)
    return RungPlan(rung.name, width, _even(height), rung.video_kbps, copy=False)


def scaled_width(source_width: int, source_height: int, height: int) -> int:
    """The even width nearest the source's aspect ratio: 1920x1080 at 480 gives 854."""
    return max(2, 2 * round(source_width * height / source_height / 2))


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _audio_policy(source: SourceInfo) -> AudioPolicy:
    if source.audio is None:
        return AudioPolicy.NONE
    return AudioPolicy.COPY if source.audio.codec == "aac" else AudioPolicy.AAC
