"""The recorder's FFmpeg command, argument by argument."""

from pathlib import Path

from video_service.edge.recorder import Audio, build_listen_input, build_record_command


def test_the_recorder_copies_video_into_keyframe_cut_segments_of_a_live_playlist() -> None:
    listen = build_listen_input("rtsp://127.0.0.1:40000/cam/" + "c" * 32)
    assert build_record_command(
        "ffmpeg", listen, Path("/rec"), segment_s=6.0, window=10, audio=Audio.AAC
    ) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
        "-rtsp_flags", "listen", "-rtsp_transport", "tcp",
        "-i", "rtsp://127.0.0.1:40000/cam/" + "c" * 32,
        "-map", "0:v:0", "-c:v", "copy", "-bsf:v", "setts=pts=if(eq(PTS\\,NOPTS)\\,DTS\\,PTS)",
        "-map", "0:a:0", "-c:a", "aac", "-b:a", "128k",
        "-f", "hls", "-hls_time", "6", "-hls_list_size", "10",
        "-hls_flags", "temp_file+program_date_time+omit_endlist+append_list+independent_segments",
        "-hls_segment_type", "mpegts", "-hls_segment_filename", "/rec/seg_%06d.ts",
        "/rec/index.m3u8",
    ]  # fmt: skip
