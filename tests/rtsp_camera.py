"""A stand-in IP camera for tests: an RTSP server (GStreamer's gst-rtsp-server) serving
H.264 and AAC at rtsp://127.0.0.1:PORT/camera. Run with the system Python, which has the
GObject bindings: /usr/bin/python3 tests/rtsp_camera.py PORT"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LAUNCH = (
    "( videotestsrc is-live=true ! video/x-raw,width=320,height=180,framerate=10/1 "
    "! x264enc tune=zerolatency key-int-max=20 ! h264parse ! rtph264pay name=pay0 pt=96 "
    "audiotestsrc is-live=true ! audioconvert ! voaacenc ! rtpmp4gpay name=pay1 pt=97 )"
)


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH)
    factory.set_shared(True)
    server.get_mount_points().add_factory("/camera", factory)
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
