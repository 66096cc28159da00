"""The S3 backend: blobs as objects in a bucket (any S3-compatible endpoint, boto3).

Download URLs are presigned SigV4 GET URLs that expire after ``url_ttl`` seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reactor.errors import ReactorError

DEFAULT_DOWNLOAD_URL_TTL = 3600


class S3Backend:
    """Blobs as objects in an S3 bucket (any S3-compatible endpoint)."""

    name = "s3"

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", url_ttl: int = DEFAULT_DOWNLOAD_URL_TTL
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.url_ttl = url_ttl

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Backend:
        """Configure from ``REACTOR_S3_*`` variables (``REACTOR_S3_BUCKET`` is required)."""
        env = os.environ if environ is None else environ
        bucket = env.get("REACTOR_S3_BUCKET")
        if not bucket:
            raise ReactorError("REACTOR_S3_BUCKET is not set")
        return cls.connect(
            bucket,
            endpoint=env.get("REACTOR_S3_ENDPOINT") or None,
            prefix=env.get("REACTOR_S3_PREFIX", ""),
            region=env.get("REACTOR_S3_REGION") or "us-east-1",
            access_key_id=env.get("REACTOR_S3_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("REACTOR_S3_SECRET_ACCESS_KEY") or None,
            url_ttl=int(env.get("REACTOR_S3_URL_TTL", DEFAULT_DOWNLOAD_URL_TTL)),
        )

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint: str | None = None,
        prefix: str = "",
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        url_ttl: int = DEFAULT_DOWNLOAD_URL_TTL,
    ) -> S3Backend:
        """A backend with its own boto3 client (SigV4, path-style addressing)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:  # pragma: no cover - depends on the installation
            raise ReactorError("S3 storage needs boto3: pip install 'reactor[s3]'") from None
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        return cls(client, bucket, prefix, url_ttl)

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        self.client.upload_file(
            str(source), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )

    def get(self, key: str) -> bytes | None:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = reply["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(self, key: str, content_type: str) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentType": content_type,
            },
            ExpiresIn=self.url_ttl,
        )
        return url
