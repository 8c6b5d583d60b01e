"""Transport-neutral errors of the media service.

Every failure a client can cause is a ``DarkroomError`` subclass with a stable
``reason`` (UPPER_SNAKE, for machines), a ``category`` (how bad, for picking a
transport status) and the Chevereto error ``code``/``message`` that the public
upload API has always returned for it.  The Chevereto pair lives here, not in a
front end, because Chevereto compatibility is part of the product contract:
gRPC clients receive it in ``google.rpc.ErrorInfo`` metadata and every front
end renders the same text.

Nothing here knows about gRPC or HTTP; ``server.api.errors`` maps categories to
status codes in one table.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class Category(enum.Enum):
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    DENIED = "denied"
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    PRECONDITION = "precondition"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"


class DarkroomError(Exception):
    """Base of every error that is the caller's business."""

    reason: ClassVar[str] = "UNKNOWN"
    category: ClassVar[Category] = Category.INVALID
    code: ClassVar[int] = 0
    default_message: ClassVar[str] = "Error"

    def __init__(self, message: str | None = None, **metadata: object) -> None:
        self.message = message if message is not None else self.default_message
        self.metadata = {key: str(value) for key, value in metadata.items()}
        super().__init__(self.message)


# --- authentication and authorization (docs/chevereto-compatibility.md §2, §6.2) -------


class NoKeyProvided(DarkroomError):
    reason = "NO_KEY_PROVIDED"
    category = Category.UNAUTHENTICATED
    code = 100
    default_message = "No key provided"


class InvalidApiKey(DarkroomError):
    reason = "INVALID_API_KEY"
    category = Category.UNAUTHENTICATED
    code = 100
    default_message = "Invalid API key."


class RequestDenied(DarkroomError):
    reason = "REQUEST_DENIED"
    category = Category.DENIED
    code = 401
    default_message = "Request denied"


class PermissionDenied(DarkroomError):
    """An authenticated caller asked for something its key may not do."""

    reason = "PERMISSION_DENIED"
    category = Category.DENIED
    code = 403
    default_message = "Permission denied"


class UrlUploadDisabled(DarkroomError):
    reason = "URL_UPLOAD_DISABLED"
    category = Category.DENIED
    code = 403
    default_message = "URL uploading is disabled"


class Flooding(DarkroomError):
    reason = "FLOODING"
    category = Category.TOO_LARGE
    code = 130
    default_message = "Flooding detected"


# --- the upload source (§3) ---------------------------------------------------------------


class EmptyUploadSource(DarkroomError):
    reason = "EMPTY_UPLOAD_SOURCE"
    code = 130
    default_message = "Empty upload source"


class EmptySource(DarkroomError):
    reason = "EMPTY_SOURCE"
    code = 130
    default_message = "Empty source"


class Base64NotPosted(DarkroomError):
    reason = "BASE64_NOT_POSTED"
    code = 130
    default_message = "Upload using base64 source must be done using POST method."


class InvalidBase64(DarkroomError):
    reason = "INVALID_BASE64"
    code = 120
    default_message = "Invalid base64 string"


class UnsupportedUrl(DarkroomError):
    """A URL source that the fetcher refuses before dialling (scheme, host, address)."""

    reason = "UNSUPPORTED_URL"
    code = 400
    default_message = "Unsupported URL"


class UrlFetchFailed(DarkroomError):
    """The remote end of a URL source failed: refused, reset, bad status, too many redirects."""

    reason = "URL_FETCH_FAILED"
    category = Category.UNAVAILABLE
    code = 202
    default_message = "Can't fetch target upload source"


class UrlFetchTimeout(DarkroomError):
    reason = "URL_FETCH_TIMEOUT"
    category = Category.TIMEOUT
    code = 202
    default_message = "Timed out fetching the upload source"


# --- file validation (§3.3) ---------------------------------------------------------------


class InvalidImage(DarkroomError):
    """The bytes claim a known format but do not decode (truncated, corrupt)."""

    reason = "INVALID_IMAGE"
    code = 400
    default_message = "Invalid image"


class SourceInfoUnreadable(DarkroomError):
    """No known media format could be recognised in the bytes."""

    reason = "SOURCE_INFO_UNREADABLE"
    code = 610
    default_message = "Can't get target upload source info"


class UnavailableFormat(DarkroomError):
    reason = "UNAVAILABLE_FORMAT"
    code = 613
    default_message = "Unavailable image format"


class DisabledFormat(DarkroomError):
    reason = "DISABLED_FORMAT"
    code = 614
    default_message = "Disabled image format"


class FileTooBig(DarkroomError):
    reason = "FILE_TOO_BIG"
    category = Category.TOO_LARGE
    code = 400
    default_message = "File too big"


class ImageTooLarge(DarkroomError):
    """Dimensions, pixel area or frame count over the limits: refused before decoding."""

    reason = "IMAGE_TOO_LARGE"
    category = Category.TOO_LARGE
    code = 400
    default_message = "Image dimensions exceed the allowed limits"


class WidthUpscale(DarkroomError):
    reason = "WIDTH_UPSCALE"
    code = 610
    default_message = "Target width is greater than the original image width"


class InvalidVideo(DarkroomError):
    reason = "INVALID_VIDEO"
    code = 100
    default_message = "Invalid video file provided"


class VideoCodecNotAllowed(DarkroomError):
    reason = "VIDEO_CODEC_NOT_ALLOWED"
    code = 613
    default_message = "Unavailable video codec"


class VideoTooLarge(DarkroomError):
    """Duration, resolution or frame count over the limits: refused before decoding."""

    reason = "VIDEO_TOO_LARGE"
    category = Category.TOO_LARGE
    code = 400
    default_message = "Video exceeds the allowed limits"


class ProcessingTimeout(DarkroomError):
    reason = "PROCESSING_TIMEOUT"
    category = Category.TIMEOUT
    code = 600
    default_message = "Processing the upload took too long"


# --- lookups and lifecycle ----------------------------------------------------------------


class MediaNotFound(DarkroomError):
    reason = "MEDIA_NOT_FOUND"
    category = Category.NOT_FOUND
    code = 404
    default_message = "That media doesn't exist"


class NotFound(DarkroomError):
    """A named thing (user, album, category) that does not exist."""

    reason = "NOT_FOUND"
    category = Category.NOT_FOUND
    code = 404
    default_message = "Not found"


class AlreadyExists(DarkroomError):
    reason = "ALREADY_EXISTS"
    category = Category.PRECONDITION
    code = 400
    default_message = "Already exists"


class InvalidArgument(DarkroomError):
    """A malformed argument of a non-upload RPC; ``metadata['field']`` names it."""

    reason = "INVALID_ARGUMENT"
    code = 400
    default_message = "Invalid argument"


class StorageFailure(DarkroomError):
    """The blob store could not take the write (disk full, permissions)."""

    reason = "STORAGE_FAILURE"
    category = Category.UNAVAILABLE
    code = 600
    default_message = "Can't move temp file to its destination"


# --- the operator's, never on the wire --------------------------------------------------


class RefusedToStart(Exception):
    """The server or an admin command must not run as set up: an operator's problem, not
    a client's, so no DarkroomError. The CLI prints the message and exits 1."""
