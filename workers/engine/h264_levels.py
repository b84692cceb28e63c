"""The H.264 level a rung is encoded at, chosen here and passed to the encoder
(`-level:v`), so that the master can state each rung's CODECS before a segment of it
exists: what the planned master says is what the stream's SPS says.

The lowest level of ITU-T H.264 Table A-1 whose frame size, macroblock rate and (High
profile: x1.25) bitrate hold the rung."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    name: str  # as the encoder takes it: "3.1"
    idc: int  # as the SPS and CODECS carry it: 31
    max_mbps: int  # macroblocks per second
    max_fs: int  # macroblocks per frame
    max_kbps: int  # Baseline/Main; High is 1.25x


LEVELS = (
    Level("2.1", 21, 19_800, 792, 4_000),
    Level("2.2", 22, 20_250, 1_620, 4_000),
    Level("3.0", 30, 40_500, 1_620, 10_000),
    Level("3.1", 31, 108_000, 3_600, 14_000),
    Level("3.2", 32, 216_000, 5_120, 20_000),
    Level("4.0", 40, 245_760, 8_192, 20_000),
    Level("4.1", 41, 245_760, 8_192, 50_000),
    Level("4.2", 42, 522_240, 8_704, 50_000),
    Level("5.0", 50, 589_824, 22_080, 135_000),
    Level("5.1", 51, 983_040, 36_864, 240_000),
    Level("5.2", 52, 2_073_600, 36_864, 240_000),
)
DEFAULT_FPS = 30.0  # a source that does not say (or says something odd) is taken as 30


def high_profile_level(width: int, height: int, frame_rate: float | None, max_kbps: int) -> Level:
    """The lowest level that holds `width`x`height` at `frame_rate` and `max_kbps`."""
    fps = frame_rate if frame_rate and 0 < frame_rate <= 240 else DEFAULT_FPS
    frame = ((width + 15) // 16) * ((height + 15) // 16)
    rate = frame * fps
    for level in LEVELS:
        if frame <= level.max_fs and rate <= level.max_mbps and max_kbps <= level.max_kbps * 1.25:
            return level
    return LEVELS[-1]
