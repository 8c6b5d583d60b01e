"""The objects of one bucket as the tests look at them (the StoredMedia view, over S3)."""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import ClientError

from server.adapters.blob.s3 import S3Location, make_client


class S3Objects:
    def __init__(self, where: S3Location) -> None:
        self.bucket = where.bucket
        self._s3 = make_client(where, pool=4)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Objects:
        """The bucket a server started with ``env`` (DARKROOM_S3_*) writes to."""
        return cls(
            S3Location(
                endpoint=env["DARKROOM_S3_ENDPOINT"],
                bucket=env["DARKROOM_S3_BUCKET"],
                region=env.get("DARKROOM_S3_REGION", "us-east-1"),
                access_key_id=env["DARKROOM_S3_ACCESS_KEY_ID"],
                secret_access_key=env["DARKROOM_S3_SECRET_ACCESS_KEY"],
            )
        )

    def read(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def content_type(self, key: str) -> str:
        return str(self._s3.head_object(Bucket=self.bucket, Key=key)["ContentType"])

    def keys(self) -> list[str]:
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix="images/"
        ):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)

    def write(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/jpeg")

    def remove(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)
