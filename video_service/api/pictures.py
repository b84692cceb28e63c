"""Still pictures as HTTP answers: a JPEG with its ETag (a digest of its bytes), and 304 to
a client that holds it already."""

import hashlib

from fastapi import Request, Response


def jpeg_response(request: Request, jpeg: bytes, cache_control: str, **headers: str) -> Response:
    etag = f'"{hashlib.blake2b(jpeg, digest_size=12).hexdigest()}"'
    said = {"ETag": etag, "Cache-Control": cache_control, **headers}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=said)
    return Response(jpeg, media_type="image/jpeg", headers=said)
