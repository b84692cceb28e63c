"""A camera that draws the wall clock into each frame, for glass-to-glass latency: the time
(ms since the epoch, modulo 2^32) as 32 black or white blocks, drawn just before the frame is
handed to libx264 and published over RTSP. A reader (tests/browser/clock.mjs) reads the
blocks off the displayed frame and compares them with its own clock (the same machine's).

    python -m tests.clock_camera RTSP_URL SECONDS [--fps 25] [--b-frames 0]
"""

import argparse
import subprocess
import sys
import time

WIDTH, HEIGHT = 640, 360
BLOCK = 40  # pixels square
ROWS, COLUMNS = 2, 16  # 32 bits
TOP = 100  # where the first row of blocks starts
BLACK, WHITE, GREY = 16, 235, 128


def clock_frame(ms: int) -> bytes:
    """One yuv420p frame showing `ms` (the low 32 bits, most significant first)."""
    bits = [(ms >> (31 - i)) & 1 for i in range(ROWS * COLUMNS)]
    grey_line = bytes([GREY]) * WIDTH
    luma = bytearray(grey_line * TOP)
    for row in range(ROWS):
        line = b"".join(
            bytes([WHITE if bits[row * COLUMNS + col] else BLACK]) * BLOCK for col in range(COLUMNS)
        )
        luma += line * BLOCK
    luma += grey_line * (HEIGHT - len(luma) // WIDTH)
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    return bytes(luma) + chroma + chroma


def encoder(url: str, fps: int, b_frames: int) -> list[str]:
    tune = ["-tune", "zerolatency"] if b_frames == 0 else ["-bf", str(b_frames)]
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(fps),
        "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", *tune, "-g", str(fps),
        "-f", "rtsp", "-rtsp_transport", "tcp", url,
    ]  # fmt: skip


def run(url: str, seconds: float, fps: int = 25, b_frames: int = 0) -> int:
    process = subprocess.Popen(encoder(url, fps, b_frames), stdin=subprocess.PIPE)
    assert process.stdin is not None
    start = time.monotonic()
    try:
        for number in range(int(seconds * fps)):
            delay = start + number / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            process.stdin.write(clock_frame(int(time.time() * 1000) & 0xFFFFFFFF))
            process.stdin.flush()
        process.stdin.close()
    except BrokenPipeError:
        pass
    return process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--b-frames", type=int, default=0)
    arguments = parser.parse_args()
    sys.exit(run(arguments.url, arguments.seconds, arguments.fps, arguments.b_frames))


if __name__ == "__main__":
    main()
