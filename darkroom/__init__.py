"""The darkroom.v1 contract as Python stubs, generated from proto/ by scripts/gen-proto.

Only the package markers and media_types.py (the MIME table both sides share) are
tracked; the *_pb2*.py files are build output.
Both the server and the gateway import this package, and nothing else of each other.
"""
