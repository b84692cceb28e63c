from workers.base.settings import WorkerSettings
from workers.engine.hardware import explain_failure, gpu_encoder_ready, probe_hardware


def test_known_failures_are_explained_for_an_operator() -> None:
    assert "no NVENC" in explain_failure(
        "[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: unsupported device (2): (no details)"
    )
    assert "driver" in explain_failure("Cannot load libcuda.so.1")
    assert "NVIDIA encode library" in explain_failure("Cannot load libnvidia-encode.so.1")
    assert "/dev/dri" in explain_failure("No such file or directory: /dev/dri/renderD128")
    assert "older than the NVENC API" in explain_failure(
        "[h264_nvenc @ 0x1] Driver does not support the required nvenc API version. "
        "Required: 13.1 Found: 13.0"
    )
    assert explain_failure("something new\nConversion failed!\n") == "something new"


def test_probe_really_opens_each_device_and_says_why_not() -> None:
    found = {cap.name: cap for cap in probe_hardware(WorkerSettings())}
    assert set(found) == {"nvenc", "nvdec", "vaapi", "qsv"}
    assert {found["nvdec"].kind, found["nvenc"].kind} == {"decode", "encode"}
    for cap in found.values():
        assert cap.detail, cap
        if not cap.ok:
            assert "opened" not in cap.detail
    assert gpu_encoder_ready(list(found.values())) == found["nvenc"].ok
