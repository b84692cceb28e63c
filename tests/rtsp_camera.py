"""A stand-in IP camera for tests: an RTSP server (GStreamer's gst-rtsp-server) serving
H.264 and AAC at rtsp://127.0.0.1:PORT/camera and a 256x144 H.264 sub-stream at
rtsp://127.0.0.1:PORT/sub, asking for a password (Digest) when
CAMERA_USER and CAMERA_PASSWORD are set (in the environment: not on its command line, where
the tests look for passwords that must not be there). Run with the system Python, which has
the GObject bindings: /usr/bin/python3 tests/rtsp_camera.py PORT"""

import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

LAUNCH = (
    "( videotestsrc is-live=true ! video/x-raw,width=320,height=180,framerate=10/1 "
    "! x264enc tune=zerolatency key-int-max=20 ! h264parse ! rtph264pay name=pay0 pt=96 "
    "audiotestsrc is-live=true ! audioconvert ! voaacenc ! rtpmp4gpay name=pay1 pt=97 )"
)

SUB_LAUNCH = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=256,height=144,framerate=10/1 "
    "! x264enc tune=zerolatency key-int-max=10 ! h264parse ! rtph264pay name=pay0 pt=96 )"
)


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    user, password = os.environ.get("CAMERA_USER"), os.environ.get("CAMERA_PASSWORD")
    if user and password:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_digest(user, password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
    mounts = server.get_mount_points()
    for path, launch in (("/camera", LAUNCH), ("/sub", SUB_LAUNCH)):
        mounts.add_factory(path, factory(launch, bool(user and password)))
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


def factory(launch: str, viewers_only: bool) -> GstRtspServer.RTSPMediaFactory:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    if viewers_only:
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(permissions)
    return factory


if __name__ == "__main__":
    main()
