from workers.base.progress import Progress, parse_progress

BLOCKS = """frame=12
fps=0.0
out_time_us=1200000
speed=2.4x
progress=continue
frame=30
out_time_us=3000000
speed=N/A
progress=end
"""


def test_blocks_become_progress_records() -> None:
    records = list(parse_progress(BLOCKS.splitlines()))
    assert records == [
        Progress(out_time_s=1.2, speed=2.4, frame=12, ended=False),
        Progress(out_time_s=3.0, speed=None, frame=30, ended=True),
    ]


def test_percent_needs_a_duration_and_ends_at_100() -> None:
    running, ended = parse_progress(BLOCKS.splitlines())
    assert running.percent_of(6.0) == 20.0
    assert running.percent_of(None) is None
    assert ended.percent_of(6.0) == 100.0
