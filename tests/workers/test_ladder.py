from workers.base.settings import WorkerSettings
from workers.engine.ladder import AudioPolicy, KeyframePolicy, plan_ladder, scaled_width
from workers.engine.probe import AudioInfo, SourceInfo, VideoInfo

SETTINGS = WorkerSettings()


def source(
    width: int = 1920,
    height: int = 1080,
    codec: str = "h264",
    pix_fmt: str = "yuv420p",
    bit_rate: int | None = 4_000_000,
    audio: str | None = "aac",
) -> SourceInfo:
    video = VideoInfo(codec, "High", 40, pix_fmt, width, height, 30.0, False, bit_rate)
    sound = AudioInfo(audio, "LC", 48000, 2) if audio else None
    return SourceInfo("mov,mp4", 10.0, bit_rate, video, sound)


def names(info: SourceInfo) -> list[tuple[str, int, int, bool]]:
    return [(r.name, r.width, r.height, r.copy) for r in plan_ladder(info, SETTINGS).rungs]


def test_1080p_h264_within_the_cap_copies_the_top_rung() -> None:
    assert names(source()) == [
        ("240p", 426, 240, False),
        ("360p", 640, 360, False),
        ("480p", 854, 480, False),
        ("720p", 1280, 720, False),
        ("1080p", 1920, 1080, True),
    ]
    plan = plan_ladder(source(), SETTINGS)
    assert plan.keyframes is KeyframePolicy.SOURCE
    assert plan.audio is AudioPolicy.COPY


def test_over_the_bitrate_cap_is_re_encoded() -> None:
    plan = plan_ladder(source(bit_rate=7_600_000), SETTINGS)
    assert not any(rung.copy for rung in plan.rungs)
    assert plan.keyframes is KeyframePolicy.INTERVAL
    assert plan_ladder(source(bit_rate=7_500_000), SETTINGS).rungs[-1].copy


def test_hevc_ten_bit_and_unknown_bitrate_are_re_encoded() -> None:
    for info in (source(codec="hevc"), source(pix_fmt="yuv420p10le"), source(bit_rate=None)):
        assert [r.copy for r in plan_ladder(info, SETTINGS).rungs] == [False] * 5


def test_4k_is_scaled_down_to_five_rungs_never_copied() -> None:
    assert names(source(3840, 2160, bit_rate=3_000_000))[-1] == ("1080p", 1920, 1080, False)


def test_never_upscale_a_360p_source() -> None:
    assert names(source(640, 360, bit_rate=900_000)) == [
        ("240p", 426, 240, False),
        ("360p", 640, 360, True),
    ]
    assert names(source(640, 360, bit_rate=1_300_000, audio="mp3")) == [
        ("240p", 426, 240, False),
        ("360p", 640, 360, False),
    ]


def test_a_source_between_rungs_keeps_its_own_height_when_copied() -> None:
    assert names(source(1280, 960))[-1] == ("960p", 1280, 960, True)
    assert [n for n, *_ in names(source(1280, 960, codec="hevc"))] == [
        "240p",
        "360p",
        "480p",
        "720p",
    ]


def test_a_tiny_source_still_gets_one_rung_at_its_size() -> None:
    assert names(source(320, 180, codec="mpeg4")) == [("240p", 320, 180, False)]


def test_audio_policy() -> None:
    assert plan_ladder(source(audio="mp3"), SETTINGS).audio is AudioPolicy.AAC
    assert plan_ladder(source(audio=None), SETTINGS).audio is AudioPolicy.NONE


def test_widths_are_even_and_keep_the_aspect() -> None:
    assert scaled_width(1920, 1080, 480) == 854
    assert scaled_width(1440, 1080, 720) == 960
    assert scaled_width(1080, 1920, 240) == 136
