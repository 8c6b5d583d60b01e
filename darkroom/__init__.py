"""The darkroom.v1 contract as Python stubs, generated from proto/ by scripts/gen-proto.

Only the package markers are tracked; the *_pb2*.py files are build output.
Both the server and the gateway import this package, and nothing else of each other.
"""
