"""A real S3 wire-protocol server for the tests: moto in server mode on a loopback port, which
a test may stop and start again on the same port (a storage outage)."""

from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from workers.base.ports import free_port

BUCKET = "media"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test",
               "region_name": "us-east-1"}  # fmt: skip
# The same, as the processes under test read them from their environment.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


class MotoServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket (moto's stop leaves it open, for the
        garbage collector to warn about in a later test)."""
        if self._server is None:
            return
        self._server.stop()
        listening = getattr(self._server, "_server", None)
        if listening is not None:
            listening.server_close()
        self._server = None

    def make_bucket(self, bucket: str = BUCKET) -> None:
        client = boto3.client("s3", endpoint_url=self.endpoint, **CREDENTIALS)
        client.create_bucket(Bucket=bucket)
        client.close()


def moto_endpoint(bucket: str = BUCKET) -> Iterator[str]:
    """Start a server, make `bucket`, yield the endpoint URL; stop it after."""
    server = MotoServer()
    server.start()
    try:
        server.make_bucket(bucket)
        yield server.endpoint
    finally:
        server.stop()
