"""The stored extensions and the MIME types they are announced and served with.

Part of the contract rather than of either side: the server puts these types in every
answer (``mime``) and Envoy serves the files with them (``Content-Type``); one table
keeps the two from disagreeing.
"""

MIME_OF_EXTENSION = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
}
