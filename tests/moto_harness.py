"""A real S3 wire-protocol server for the tests: moto in server mode on a free loopback port,
with one bucket made."""

from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from workers.ports import free_port

BUCKET = "media"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test",
               "region_name": "us-east-1"}  # fmt: skip
# The same, as the processes under test read them from their environment.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def moto_endpoint(bucket: str = BUCKET) -> Iterator[str]:
    """Start the server, make `bucket`, yield the endpoint URL; stop it after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS).create_bucket(Bucket=bucket)
    try:
        yield endpoint
    finally:
        server.stop()
